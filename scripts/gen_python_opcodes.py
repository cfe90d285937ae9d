"""Write tfbridge/data/python_opcodes.json from the real Python 3.8, 3.9 and 3.10 interpreters.

    python scripts/gen_python_opcodes.py            # writes the data file
    python scripts/gen_python_opcodes.py --check    # exits 1 when the file differs

The three write code objects in the same marshal layout, so a Lambda's bytecode does not say which
of them wrote it. Two things then decide whether Python 3.8 runs it as its writer meant: an opcode
number whose name differs between 3.8 and 3.9/3.10 (3.9 reused 162-165), and any jump (3.10 counts
jump arguments in instructions, 3.8 and 3.9 in bytes). The file lists both, read from `dis`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PYENV = Path.home() / ".pyenv" / "versions"
VERSIONS = ("3.8", "3.9", "3.10")
DATA_FILE = Path(__file__).resolve().parent.parent / "tfbridge" / "data" / "python_opcodes.json"
ASK = (
    "import dis, json, sys; "
    "print(json.dumps([sys.version.split()[0], dis.opname, dis.hasjrel, dis.hasjabs]))"
)


def interpreter(version: str) -> Path:
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    if not found:
        sys.exit(f"no pyenv Python {version} under {PYENV}")
    return found[-1]


def ask(version: str) -> tuple[str, list[str], set[int]]:
    """(full version, opname table, jump opcodes) of one real interpreter."""
    done = subprocess.run(
        [str(interpreter(version)), "-c", ASK], capture_output=True, text=True, check=True
    )
    full, opname, jrel, jabs = json.loads(done.stdout)
    return full, opname, set(jrel) | set(jabs)


def build() -> dict[str, object]:
    answers = {version: ask(version) for version in VERSIONS}
    size = max(len(opname) for _, opname, _ in answers.values())
    differing: dict[str, dict[str, str]] = {}
    jumps: dict[str, dict[str, str]] = {}
    for number in range(size):
        names = {version: answers[version][1][number] for version in VERSIONS}
        if len(set(names.values())) > 1:
            differing[str(number)] = names
        jumping = {v: names[v] for v in VERSIONS if number in answers[v][2]}
        if jumping:
            jumps[str(number)] = jumping
    return {
        "generated_by": "scripts/gen_python_opcodes.py",
        "pythons": {version: answers[version][0] for version in VERSIONS},
        "differing": differing,
        "jumps": jumps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1) + "\n"
    if args.check:
        same = DATA_FILE.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{DATA_FILE} differs from the interpreters")
        return 0 if same else 1
    DATA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {DATA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
