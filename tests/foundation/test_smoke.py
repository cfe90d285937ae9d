"""The smoke test and the one in-environment probe behind it: one process that imports every pinned
module at its version and asks TensorFlow for its devices.

The real exam environment answers for real. To play a Mac with or without a Metal GPU, only the
probe's seam (`tfbridge.inenv.probe.ask_environment`) is replaced, with a report of the same shape
the real environment gave.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.foundation import EXAM_IMPORT_VERSIONS
from tfbridge.envs import load_profile
from tfbridge.envs.smoke import run_smoke_test
from tfbridge.errors import EXIT_ENVIRONMENT, EnvironmentFailure
from tfbridge.inenv import Device, EnvironmentProbe, ImportOutcome, probe, probe_environment

METAL_VERSIONS = {
    "tensorflow": "2.9.2",
    "tensorflow_datasets": "4.6.0",
    "numpy": "1.22.4",
    "PIL": "9.1.1",
    "scipy": "1.7.3",
    "pandas": "1.4.2",
}
MAC_CPU = Device(device_type="CPU", name="/physical_device:CPU:0")
MAC_GPU = Device(device_type="GPU", name="/physical_device:GPU:0", details={"device_name": "METAL"})


def test_the_exam_environment_answers_imports_devices_and_distributions_in_one_process(
    exam_python: Path,
) -> None:
    exam = load_profile("exam")
    report = probe_environment(exam_python, exam.imports, distributions=["protobuf"], devices=True)
    assert report.python_version.startswith("3.8.")
    assert {
        module: outcome.version for module, outcome in report.imports.items()
    } == EXAM_IMPORT_VERSIONS
    assert [d.device_type for d in report.devices or []] == ["CPU"]
    assert report.distributions == {"protobuf": "3.19.6"}
    smoke = run_smoke_test(exam, exam_python)
    assert smoke.devices == ["CPU:/physical_device:CPU:0"]


def test_a_module_that_does_not_import_is_named(exam_python: Path) -> None:
    report = probe_environment(exam_python, {"keras_nlp": "keras-nlp"}, devices=False)
    outcome = report.imports["keras_nlp"]
    assert not outcome.ok and outcome.error == "ModuleNotFoundError: No module named 'keras_nlp'"
    assert report.devices is None


def test_an_interpreter_that_does_not_answer_is_an_environment_failure(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentFailure) as silent:
        probe_environment(Path("/bin/true"), {}, devices=True)
    assert silent.value.exit_code == EXIT_ENVIRONMENT
    assert "worker in /bin/true died while starting (exit code 0)" in silent.value.one_line()
    with pytest.raises(EnvironmentFailure, match="no Python interpreter at"):
        probe_environment(tmp_path / "no-python", {}, devices=True)


def _mac(devices: list[Device], versions: dict[str, str]) -> EnvironmentProbe:
    """What a Mac's metal environment answers: the real exam environment's answer, in shape."""
    imports = {m: ImportOutcome(ok=True, version=v) for m, v in versions.items()}
    return EnvironmentProbe(
        protocol=2,
        pid=1,
        python_version="3.8.18",
        tf_version="2.9.2",
        keras_version="2.9.0",
        keras_package="keras",
        numpy_version="1.22.4",
        platform="darwin",
        machine="arm64",
        executable="/mac/python",
        distributions={},
        imports=imports,
        devices=devices,
    )


def test_metal_without_a_gpu_fails_its_smoke_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "ask_environment", lambda *a, **k: _mac([MAC_CPU], METAL_VERSIONS))
    with pytest.raises(EnvironmentFailure) as no_gpu:
        run_smoke_test(load_profile("metal"), Path("/mac/python"))
    assert no_gpu.value.one_line() == (
        "the new 'metal' environment failed its smoke test: TensorFlow sees no GPU (devices: "
        "CPU:/physical_device:CPU:0). It was not kept; run `tfbridge doctor`, then "
        "`tfbridge setup` again."
    )


def test_metal_with_a_gpu_passes_and_a_wrong_version_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metal = load_profile("metal")
    answer = _mac([MAC_CPU, MAC_GPU], METAL_VERSIONS)
    monkeypatch.setattr(probe, "ask_environment", lambda *a, **k: answer)
    assert run_smoke_test(metal, Path("/mac/python")).devices == [
        "CPU:/physical_device:CPU:0",
        "GPU:/physical_device:GPU:0",
    ]
    answer = _mac([MAC_CPU, MAC_GPU], {**METAL_VERSIONS, "numpy": "1.24.4"})
    with pytest.raises(EnvironmentFailure, match=r"numpy is 1\.24\.4, not the pinned 1\.22\.4"):
        run_smoke_test(metal, Path("/mac/python"))
