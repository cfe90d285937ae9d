"""Build each Keras line's runtime, probe it and 2.9, and write tfbridge/data/keras_semantics.json.

    python scripts/semantics/build.py [LINE ...] [--reuse-dumps]   # default: every line

Runtimes are built one at a time with uv under /tmp/semantics-venvs (TFBRIDGE_SEMANTICS_VENVS);
2.9 is the exam runtime the tests build (`tfbridge setup exam`). Dumps are kept beside the venvs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare
import runtimes

from tfbridge.files import write_text_atomic

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "tfbridge" / "data" / "keras_semantics.json"
DUMPS = runtimes.VENVS_ROOT / "dumps"


def exam_interpreter() -> Path:
    """The tests' cached exam runtime when it exists, else the one `tfbridge setup exam` builds."""
    if runtimes.EXAM_PYTHON.exists():
        return runtimes.EXAM_PYTHON
    from tfbridge.envs import setup_profile

    return setup_profile("exam").python


def probe_and_keep(name: str, interpreter: Path, runtime: runtimes.Runtime | None) -> compare.Dump:
    print(f"[{name}] probing with {interpreter}", flush=True)
    dump = runtimes.run_probe(interpreter, runtime)
    DUMPS.mkdir(parents=True, exist_ok=True)
    write_text_atomic(DUMPS / f"{name}.json", json.dumps(dump, sort_keys=True))
    return dump


def probe_or_reuse(
    name: str, interpreter: Path, runtime: runtimes.Runtime | None, reuse: bool
) -> compare.Dump:
    kept = DUMPS / f"{name}.json"
    if reuse and kept.is_file():
        loaded: compare.Dump = json.loads(kept.read_text())
        return loaded
    return probe_and_keep(name, interpreter, runtime)


def main(selected: list[str], reuse_dumps: bool) -> None:
    chosen = [rt for rt in runtimes.RUNTIMES if not selected or rt.line in selected]
    base = probe_or_reuse("2.9", exam_interpreter(), None, reuse_dumps)
    lines = {}
    for runtime in chosen:
        interpreter = runtime.interpreter if reuse_dumps else runtimes.build(runtime)
        lines[runtime.line] = probe_or_reuse(runtime.line, interpreter, runtime, reuse_dumps)
    table = runtimes.make_table(exam_interpreter(), base, lines)
    if selected and TABLE.is_file():  # the other lines stay as they are
        kept = json.loads(TABLE.read_text())
        table["lines"] = {**kept["lines"], **table["lines"]}
    write_text_atomic(TABLE, compare.render(table))
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lines", nargs="*", help="Keras lines to (re)probe; default: all")
    parser.add_argument(
        "--reuse-dumps", action="store_true", help="compare the dumps of the last run again"
    )
    arguments = parser.parse_args()
    main(arguments.lines, arguments.reuse_dumps)
