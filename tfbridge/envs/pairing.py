"""Which tensorflow-metal release goes with which tensorflow: Apple's table, as data.

The table lives in `tfbridge/data/metal_pairing.json` (checked against PyPI by
`scripts/check_metal_pairing.py`). A plugin release line (major.minor) serves a range of tensorflow
minor versions; a mismatched pair imports but fails or silently falls back to the CPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from packaging.version import InvalidVersion, Version

from tfbridge.paths import DATA_FILES_DIR

PAIRING_FILE = DATA_FILES_DIR / "metal_pairing.json"


@dataclass(frozen=True)
class MetalPair:
    """One row of Apple's table: `metal` serves tensorflow `tensorflow_min` .. `tensorflow_max`."""

    metal: str
    tensorflow_min: str
    tensorflow_max: str

    def serves(self, tf_version: Version) -> bool:
        return _minor(self.tensorflow_min) <= _minor_of(tf_version) <= _minor(self.tensorflow_max)

    def is_release_line_of(self, metal_version: Version) -> bool:
        return _minor(self.metal) == _minor_of(metal_version)


@dataclass(frozen=True)
class PairCheck:
    ok: bool
    message: str
    hint: str = ""


@cache
def pairing_table(path: Path = PAIRING_FILE) -> tuple[MetalPair, ...]:
    rows = json.loads(path.read_text())["pairs"]
    return tuple(MetalPair(r["metal"], r["tensorflow_min"], r["tensorflow_max"]) for r in rows)


def metal_for(tf_version: str) -> str | None:
    """The tensorflow-metal release Apple pairs with this tensorflow, or None if it pairs none."""
    version = _parse(tf_version)
    if version is None:
        return None
    return next((pair.metal for pair in pairing_table() if pair.serves(version)), None)


def check_metal_pair(tf_version: str, metal_version: str | None) -> PairCheck:
    """Is this installed tensorflow / tensorflow-metal pair one Apple supports?"""
    tf = _parse(tf_version)
    if tf is None:
        return PairCheck(False, f"cannot read the tensorflow version {tf_version!r}")
    wanted = metal_for(tf_version)
    if wanted is None:
        return PairCheck(
            False,
            f"Apple pairs no tensorflow-metal release with tensorflow {tf}",
            "use a tensorflow between 2.5 and 2.18 (the exam's dialect is 2.9: "
            "tensorflow-macos 2.9.2 with tensorflow-metal 0.5.0)",
        )
    install = f"install tensorflow-metal=={wanted} (Apple's pair for tensorflow {_minor_text(tf)})"
    if metal_version is None:
        return PairCheck(
            False, f"tensorflow-metal is not installed beside tensorflow {tf}", install
        )
    metal = _parse(metal_version)
    if metal is None:
        return PairCheck(False, f"cannot read the tensorflow-metal version {metal_version!r}")
    if any(pair.is_release_line_of(metal) and pair.serves(tf) for pair in pairing_table()):
        return PairCheck(
            True, f"tensorflow {tf} with tensorflow-metal {metal}: a pair Apple supports"
        )
    return PairCheck(
        False,
        f"tensorflow-metal {metal} is not Apple's pair for tensorflow {tf}",
        install,
    )


def _parse(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _minor(text: str) -> tuple[int, int]:
    return _minor_of(Version(text))


def _minor_of(version: Version) -> tuple[int, int]:
    release = (*version.release, 0)
    return release[0], release[1]


def _minor_text(version: Version) -> str:
    major, minor = _minor_of(version)
    return f"{major}.{minor}"
