"""The Python API: `tfbridge.verify(path)` returns the same result objects the CLI renders."""

from __future__ import annotations

from pathlib import Path

import tfbridge
from tfbridge.verify import ModelReport, verify_paths

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_tfbridge_verify_is_callable_before_and_after_the_package_is_imported() -> None:
    report = tfbridge.verify(EXAMPLES / "mnist_dense.h5", runtime=False)
    assert isinstance(report, ModelReport) and report.verdict == "pass"
    assert report.static_load == "compile" and report.keras_version == "2.9.0"
    again = tfbridge.verify(EXAMPLES / "keras3_model.h5", runtime=False)
    assert again.verdict == "fail" and again.static_load == "never"


def test_no_runtime_says_why_it_was_skipped() -> None:
    report = verify_paths([EXAMPLES / "mnist_dense.h5"], runtime=False)
    skipped = [c for c in report.models[0].checks if c.id == "runtime"]
    assert skipped and skipped[0].status == "skip" and "--no-runtime" in skipped[0].message
