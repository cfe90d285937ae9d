"""Check tfbridge/data/metal_pairing.json against the table on tensorflow-metal's PyPI page.

    python scripts/check_metal_pairing.py                       # asks PyPI
    python scripts/check_metal_pairing.py --description FILE    # reads a saved page description

Exits 0 when the data file says what the page says, 1 (printing the differences) when not.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

PYPI_JSON = "https://pypi.org/pypi/tensorflow-metal/json"
DATA_FILE = Path(__file__).resolve().parent.parent / "tfbridge" / "data" / "metal_pairing.json"
# A row such as `|v2.14-v2.18|v1.1.0|12.1+||`: tensorflow range, plugin version, macOS, notes.
ROW = re.compile(r"^\|\s*v(\d+\.\d+)(?:\s*-\s*v(\d+\.\d+))?\s*\|\s*v(\d+\.\d+\.\d+)\s*\|")

Pairs = dict[str, tuple[str, str]]


def parse_page_table(description: str) -> Pairs:
    """metal version -> (tensorflow_min, tensorflow_max), merging rows that repeat a release."""
    pairs: Pairs = {}
    for line in description.splitlines():
        match = ROW.match(line.strip())
        if not match:
            continue
        low, high, metal = match.group(1), match.group(2) or match.group(1), match.group(3)
        if metal in pairs:
            old_low, old_high = pairs[metal]
            low, high = min(old_low, low, key=_key), max(old_high, high, key=_key)
        pairs[metal] = (low, high)
    return pairs


def read_data_file(path: Path) -> Pairs:
    rows = json.loads(path.read_text())["pairs"]
    return {r["metal"]: (r["tensorflow_min"], r["tensorflow_max"]) for r in rows}


def differences(page: Pairs, data: Pairs) -> list[str]:
    found = []
    for metal in sorted(page.keys() | data.keys(), key=_key):
        if page.get(metal) != data.get(metal):
            said = f"PyPI says {page.get(metal)}, data file says {data.get(metal)}"
            found.append(f"tensorflow-metal {metal}: {said}")
    return found


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _fetch_description() -> str:
    with urllib.request.urlopen(PYPI_JSON, timeout=30) as response:
        return str(json.load(response)["info"]["description"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--description", type=Path, help="a saved copy of the PyPI description")
    parser.add_argument("--data", type=Path, default=DATA_FILE)
    options = parser.parse_args()
    text = options.description.read_text() if options.description else _fetch_description()
    page = parse_page_table(text)
    if not page:
        print("no pairing table found in the tensorflow-metal description", file=sys.stderr)
        return 1
    found = differences(page, read_data_file(options.data))
    for line in found:
        print(line)
    if not found:
        print(f"{options.data.name} matches PyPI ({len(page)} tensorflow-metal releases)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
