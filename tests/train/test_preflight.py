"""Preflight with the real exam runtime's package metadata and device list.

Metal cannot run here: the one device seam (`tfbridge.inenv.probe.ask_environment`) is replaced
only where a test simulates a Mac GPU, and then only its device answer; every other test asks the
real TensorFlow 2.9 of the exam runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from tfbridge.envs.hardware import RawFacts, classify, detect
from tfbridge.envs.profiles import load_profile
from tfbridge.inenv import EnvironmentProbe, probe
from tfbridge.runtime import Device
from tfbridge.train.preflight import (
    check_training_env,
    os_check,
    read_env_packages,
    run_preflight,
)
from tfbridge.verify.result import Check

APPLE_SILICON = classify(RawFacts("darwin", "arm64"))
ROSETTA = classify(RawFacts("darwin", "x86_64", True, frozenset({"sse4_2"})))
MAC_DEVICES = [
    Device("/physical_device:CPU:0", "CPU"),
    Device("/physical_device:GPU:0", "GPU", {"device_name": "METAL"}),
]


def _by_id(checks: list[Check]) -> dict[str, Check]:
    return {check.id: check for check in checks}


@pytest.fixture
def simulated_mac_gpu(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace only the device answer; record which interpreters were asked for devices."""
    asked: list[Path] = []
    monkeypatch.setattr(probe, "ask_environment", _mac_answers(MAC_DEVICES, asked))
    return asked


def _mac_answers(devices: list[Device], asked: list[Path]) -> Callable[..., EnvironmentProbe]:
    """The real probe (without TensorFlow), its device list replaced by `devices`."""
    real = probe.ask_environment

    def ask(
        python: Path, imports: dict[str, str], names: list[str], with_devices: bool, timeout: float
    ) -> EnvironmentProbe:
        answer = real(python, imports, names, False, timeout)
        if not with_devices:
            return answer
        asked.append(python)
        return msgspec.structs.replace(answer, devices=devices)

    return ask


@pytest.mark.runtime
def test_env_packages_are_read_without_tensorflow(exam_python: Path) -> None:
    packages = read_env_packages(exam_python)
    assert packages.python_version.startswith("3.8.")
    assert packages.tensorflow == "2.9.0"
    assert packages.versions["keras"] == "2.9.0"
    assert packages.metal is None


@pytest.mark.runtime
def test_metal_profile_refuses_the_missing_gpu_of_the_real_device_list(exam_python: Path) -> None:
    preflight = check_training_env(load_profile("metal"), exam_python, detect())
    assert not preflight.ok
    assert preflight.device == "CPU"
    gpu = _by_id(preflight.checks)["device.gpu"]
    assert gpu.status == "fail"
    assert gpu.message == (
        f"TensorFlow in {exam_python} sees no GPU: Metal needs an Apple Silicon Mac and this is "
        f"{detect().description}"
    )
    assert "--allow-cpu" in gpu.hint
    pair = _by_id(preflight.checks)["env.metal_pair"]
    assert pair.status == "fail"
    assert pair.hint == "install tensorflow-metal==0.5.0 (Apple's pair for tensorflow 2.9)"


@pytest.mark.runtime
def test_allow_cpu_turns_the_missing_gpu_into_a_warning(exam_python: Path) -> None:
    preflight = check_training_env(load_profile("metal"), exam_python, detect(), allow_cpu=True)
    gpu = _by_id(preflight.checks)["device.gpu"]
    assert gpu.status == "warn"
    assert gpu.message.endswith("training on the CPU (--allow-cpu)")


@pytest.mark.runtime
def test_simulated_mac_gpu_passes_the_device_check(
    exam_python: Path, simulated_mac_gpu: list[Path]
) -> None:
    preflight = check_training_env(load_profile("metal"), exam_python, APPLE_SILICON)
    assert simulated_mac_gpu == [exam_python]
    assert preflight.device == "GPU (/physical_device:GPU:0)"
    checks = _by_id(preflight.checks)
    assert checks["device.gpu"].status == "pass"
    # The exam runtime really has no tensorflow-metal: only the device query was simulated.
    assert [c.id for c in preflight.checks if c.status == "fail"] == ["env.metal_pair"]


@pytest.mark.runtime
def test_full_preflight_passes_with_a_gpu_on_the_exam_profile(
    exam_python: Path, simulated_mac_gpu: list[Path]
) -> None:
    preflight = run_preflight(load_profile("exam"), detect())
    assert preflight.ok, preflight.checks
    assert preflight.python == exam_python
    assert [c.id for c in preflight.checks] == ["os.support", "env.ready", "device.gpu"]
    assert preflight.device == "GPU (/physical_device:GPU:0)"


@pytest.mark.runtime
def test_an_x86_64_env_on_apple_silicon_gets_the_rosetta_diagnosis(
    exam_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "ask_environment", _mac_answers(MAC_DEVICES[:1], []))
    preflight = check_training_env(load_profile("metal"), exam_python, APPLE_SILICON)
    checks = _by_id(preflight.checks)
    assert "its Python is x86_64 (Rosetta 2)" in checks["device.gpu"].message
    assert checks["hardware.rosetta"].status == "warn"
    assert checks["hardware.rosetta"].message.startswith("the training environment's Python runs")


@pytest.mark.runtime
def test_rosetta_warning_for_tfbridge_itself(
    exam_python: Path, simulated_mac_gpu: list[Path]
) -> None:
    preflight = check_training_env(load_profile("exam"), exam_python, ROSETTA)
    rosetta = _by_id(preflight.checks)["hardware.rosetta"]
    assert rosetta.status == "warn"
    assert rosetta.message.startswith("tfbridge itself runs under Rosetta 2")
    assert preflight.ok


def test_missing_env_is_a_failed_check_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFBRIDGE_HOME", str(tmp_path))
    preflight = run_preflight(load_profile("exam"), detect())
    assert not preflight.ok
    assert preflight.python is None
    os_support, check = preflight.checks
    assert (os_support.id, os_support.status) == ("os.support", "pass")
    assert (check.id, check.status) == ("env.ready", "fail")
    assert check.hint == "run `tfbridge setup exam`"


GPU_PLUGIN_121 = "tensorflow-metal 0.5.0's GPU plugin needs macOS 12.3; this Mac runs 12.1"


@pytest.mark.parametrize(
    ("version", "allow_cpu", "status", "message"),
    [
        (
            "11.0",
            False,
            "fail",
            "profile 'metal' cannot run here: tensorflow-macos 2.9.2 needs macOS 11.3; "
            "this Mac runs 11.0",
        ),
        ("11.0", True, "fail", None),  # --allow-cpu does not make TensorFlow importable
        ("12.1", False, "fail", GPU_PLUGIN_121),
        ("12.1", True, "warn", GPU_PLUGIN_121 + "; training on the CPU (--allow-cpu)"),
        ("12.3", False, "pass", None),
        ("14.5", False, "pass", None),
    ],
)
def test_os_check_judges_played_macos_versions_from_the_lock_facts(
    version: str, allow_cpu: bool, status: str, message: str | None
) -> None:
    mac = classify(RawFacts("darwin", "arm64", os_version=version))
    check = os_check(load_profile("metal"), mac, allow_cpu=allow_cpu)
    assert (check.id, check.status) == ("os.support", status)
    if message is not None:
        assert check.message == message
    if status == "fail" and version == "12.1":
        assert check.hint == "update macOS, or train on the CPU with `--allow-cpu`"


def test_preflight_on_macos_12_1_stops_before_the_env_is_even_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFBRIDGE_HOME", str(tmp_path))
    mac = classify(RawFacts("darwin", "arm64", os_version="12.1"))
    preflight = run_preflight(load_profile("metal"), mac)
    assert not preflight.ok
    assert [(c.id, c.status) for c in preflight.checks] == [
        ("os.support", "fail"),
        ("env.ready", "fail"),
    ]
    assert preflight.checks[0].message == GPU_PLUGIN_121


def test_os_check_warns_when_the_os_version_cannot_be_read() -> None:
    check = os_check(load_profile("metal"), APPLE_SILICON)
    assert (check.status, check.message) == (
        "warn",
        "cannot read this machine's macOS version; tensorflow-metal 0.5.0 needs macOS 12.3",
    )
