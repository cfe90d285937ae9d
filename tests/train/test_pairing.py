"""Apple's tensorflow <-> tensorflow-metal table, as tfbridge reads and applies it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tfbridge.envs.pairing import PAIRING_FILE, check_metal_pair, metal_for, pairing_table

REPO = Path(__file__).resolve().parents[2]
SAVED_PYPI_DESCRIPTION = Path(__file__).parent / "data" / "tensorflow_metal_pypi_description.md"


@pytest.mark.parametrize(
    ("tf_version", "metal"),
    [
        ("2.5.0", "0.1.2"),
        ("2.9.0", "0.5.0"),
        ("2.9.2", "0.5.0"),
        ("2.12.0", "0.8.0"),
        ("2.13.1", "1.0.0"),
        ("2.14.0", "1.1.0"),
        ("2.18.0", "1.1.0"),
        ("2.4.0", None),
        ("2.19.0", None),
    ],
)
def test_metal_for_reads_apples_table(tf_version: str, metal: str | None) -> None:
    assert metal_for(tf_version) == metal


@pytest.mark.parametrize(
    ("tf_version", "metal_version"),
    [("2.9.2", "0.5.0"), ("2.9.0", "0.5.1"), ("2.11.0", "0.7.1"), ("2.16.2", "1.1.0")],
)
def test_supported_pairs_pass(tf_version: str, metal_version: str) -> None:
    check = check_metal_pair(tf_version, metal_version)
    assert check.ok, check.message


def test_mismatched_pair_names_the_right_plugin() -> None:
    check = check_metal_pair("2.9.2", "0.6.0")
    assert not check.ok
    assert check.message == "tensorflow-metal 0.6.0 is not Apple's pair for tensorflow 2.9.2"
    assert check.hint == "install tensorflow-metal==0.5.0 (Apple's pair for tensorflow 2.9)"


def test_missing_plugin_is_not_ok_and_says_what_to_install() -> None:
    check = check_metal_pair("2.13.0", None)
    assert not check.ok
    assert "not installed" in check.message
    assert "tensorflow-metal==1.0.0" in check.hint


def test_tensorflow_outside_the_table_is_not_ok() -> None:
    check = check_metal_pair("2.19.0", "1.2.0")
    assert not check.ok
    assert check.message == "Apple pairs no tensorflow-metal release with tensorflow 2.19.0"


def test_unreadable_versions_are_reported_not_raised() -> None:
    assert not check_metal_pair("latest", "0.5.0").ok
    assert not check_metal_pair("2.9.0", "five").ok


def test_data_file_covers_tensorflow_2_5_to_2_18_without_gaps() -> None:
    served = {f"2.{minor}.0": metal_for(f"2.{minor}.0") for minor in range(5, 19)}
    assert all(served.values()), served
    assert len(pairing_table()) == len(json.loads(PAIRING_FILE.read_text())["pairs"])


def test_data_file_matches_the_saved_pypi_table() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "check_metal_pairing.py"),
            "--description",
            str(SAVED_PYPI_DESCRIPTION),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matches PyPI (10 tensorflow-metal releases)" in done.stdout


def test_check_script_reports_a_drifted_data_file(tmp_path: Path) -> None:
    data = json.loads(PAIRING_FILE.read_text())
    data["pairs"][4]["metal"] = "0.5.1"
    drifted = tmp_path / "metal_pairing.json"
    drifted.write_text(json.dumps(data))
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "check_metal_pairing.py"),
            "--description",
            str(SAVED_PYPI_DESCRIPTION),
            "--data",
            str(drifted),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "tensorflow-metal 0.5.0: PyPI says ('2.9', '2.9'), data file says None" in done.stdout
