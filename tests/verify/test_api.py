"""The Python API: `tfbridge.verify_model(path)` returns the same result objects the CLI renders."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tfbridge
from tfbridge.contract import Contract, parse_shape
from tfbridge.errors import TfbridgeError
from tfbridge.verify import ModelReport, verify_paths, verify_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_verify_model_reports_pass_and_fail() -> None:
    report = tfbridge.verify_model(EXAMPLES / "mnist_dense.h5", runtime=False)
    assert isinstance(report, ModelReport) and report.verdict == "pass"
    assert report.static_load == "compile" and report.keras_version == "2.9.0"
    again = tfbridge.verify_model(EXAMPLES / "keras3_model.h5", runtime=False)
    assert again.verdict == "fail" and again.static_load == "never"


def test_no_runtime_says_why_it_was_skipped() -> None:
    report = verify_paths([EXAMPLES / "mnist_dense.h5"], runtime=False)
    skipped = [c for c in report.models[0].checks if c.id == "runtime"]
    assert skipped and skipped[0].status == "skip" and "--no-runtime" in skipped[0].message


def test_every_public_name_resolves_to_its_domain_object() -> None:
    from tfbridge.convert import ConversionReport, convert
    from tfbridge.sync import sync
    from tfbridge.verify import VerifyReport, verify_model

    assert tfbridge.verify_model is verify_model and tfbridge.VerifyReport is VerifyReport
    assert tfbridge.convert_model is convert and tfbridge.ConversionReport is ConversionReport
    assert tfbridge.sync_slots is sync
    assert all(getattr(tfbridge, name) is not None for name in tfbridge.__all__)
    assert set(tfbridge.__all__) <= set(dir(tfbridge))
    assert set(tfbridge.__all__) == {"__version__", *tfbridge._LAZY}


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = tfbridge.no_such_thing  # type: ignore[attr-defined]


def test_the_verify_package_is_a_plain_module() -> None:
    import types

    import tfbridge.verify

    assert type(tfbridge.verify) is types.ModuleType
    assert not callable(tfbridge.verify)


def test_import_tfbridge_pulls_in_no_heavy_module() -> None:
    probe = (
        "import sys, tfbridge; tfbridge.__version__; dir(tfbridge); "
        "print(sorted({'h5py', 'numpy', 'tensorflow', 'rich'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_verify_request_puts_the_options_over_the_slot_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(EXAMPLES / "mnist_dense.h5", tmp_path / "q1.h5")
    (tmp_path / "tfbridge.toml").write_text(
        '[slots.q1]\nmodel = "q1.h5"\ninput_shape = [28, 28]\noutput_shape = [3]\n'
    )
    monkeypatch.chdir(tmp_path)
    wrong = verify_request([], slot="q1", runtime=False)
    assert wrong.failed and wrong.models[0].path == tmp_path / "q1.h5"
    mended = verify_request([], slot="q1", contract=Contract(output_shape=(10,)), runtime=False)
    contract = [check.status for check in mended.models[0].checks if check.id == "contract"]
    assert not mended.failed and contract == ["pass", "pass"]


def test_verify_request_refuses_a_batch_with_nothing_readable(tmp_path: Path) -> None:
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(TfbridgeError, match=r"empty\.h5") as caught:
        verify_request([tmp_path / "empty.h5"], runtime=False)
    assert caught.value.exit_code == 2 and "Keras .h5 model" in caught.value.hint
    with pytest.raises(TfbridgeError, match="no model given"):
        verify_request([], runtime=False)


@pytest.mark.parametrize(
    ("text", "shape"), [("28,28,1", (28, 28, 1)), ("(None, 10)", (None, 10)), ("[?]", (None,))]
)
def test_parse_shape(text: str, shape: tuple[int | None, ...]) -> None:
    assert parse_shape(text, "--input-shape") == shape


@pytest.mark.parametrize("text", ["", "a,b", "28,0", "-1"])
def test_parse_shape_refuses_what_is_not_a_shape(text: str) -> None:
    with pytest.raises(TfbridgeError, match=r"--output-shape .* is not a shape"):
        parse_shape(text, "--output-shape")
