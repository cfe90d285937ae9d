from pathlib import Path

import pytest

from tfbridge.envs.hardware import RawFacts, _linux_cpu_flags, classify, detect
from tfbridge.errors import TfbridgeError

AVX = frozenset({"sse4_2", "avx", "avx2"})


@pytest.mark.parametrize(
    ("facts", "platform", "apple_silicon", "rosetta", "avx"),
    [
        (RawFacts("darwin", "arm64"), "osx-arm64", True, False, None),
        (RawFacts("darwin", "x86_64", True, frozenset({"sse4_2"})), "osx-64", True, True, False),
        (RawFacts("darwin", "x86_64", False, AVX), "osx-64", False, False, True),
        (RawFacts("linux", "x86_64", False, AVX), "linux-64", False, False, True),
        (RawFacts("linux", "x86_64", False, frozenset({"sse2"})), "linux-64", False, False, False),
        (RawFacts("linux", "aarch64"), "linux-aarch64", False, False, None),
        (RawFacts("linux", "arm64"), "linux-aarch64", False, False, None),
        (RawFacts("windows", "AMD64", False, None), "win-64", False, False, None),
    ],
)
def test_classify_maps_raw_facts(
    facts: RawFacts, platform: str, apple_silicon: bool, rosetta: bool, avx: bool | None
) -> None:
    hardware = classify(facts)
    assert hardware.conda_platform == platform
    assert hardware.is_apple_silicon is apple_silicon
    assert hardware.is_rosetta is rosetta
    assert hardware.has_avx is avx


def test_rosetta_is_only_reported_for_x86_64_python_on_a_mac() -> None:
    assert classify(RawFacts("linux", "x86_64", True, AVX)).is_rosetta is False


def test_unsupported_machine_is_a_clear_error() -> None:
    with pytest.raises(TfbridgeError, match="unsupported machine: linux riscv64"):
        classify(RawFacts("linux", "riscv64"))


def test_detect_reads_this_linux_machine() -> None:
    hardware = detect()
    assert hardware.conda_platform == "linux-64"
    flags = _linux_cpu_flags(Path("/proc/cpuinfo"))
    assert flags is not None
    assert hardware.has_avx is ("avx" in flags)


def test_cpuinfo_that_cannot_be_read_gives_unknown_flags(tmp_path: Path) -> None:
    assert _linux_cpu_flags(tmp_path / "missing") is None
