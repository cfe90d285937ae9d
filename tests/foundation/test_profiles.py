from pathlib import Path

import pytest

from tfbridge.envs.hardware import RawFacts, classify
from tfbridge.envs.profiles import default_profile_name, load_profile, profile_names
from tfbridge.errors import TfbridgeError

APPLE_SILICON = classify(RawFacts("darwin", "arm64"))
ROSETTA = classify(RawFacts("darwin", "x86_64", True, frozenset({"sse4_2"})))
INTEL_MAC = classify(RawFacts("darwin", "x86_64", False, frozenset({"avx"})))
LINUX = classify(RawFacts("linux", "x86_64", False, frozenset({"avx"})))
WINDOWS = classify(RawFacts("windows", "AMD64"))

EXAM_PINS = {
    "tensorflow": "2.9.0",
    "tensorflow-datasets": "4.6.0",
    "numpy": "1.22.4",
    "pillow": "9.1.1",
    "scipy": "1.7.3",
    "pandas": "1.4.2",
}


def test_the_two_starting_profiles_exist() -> None:
    assert profile_names() == ["exam", "metal"]


def test_exam_profile_is_the_exam_environment_exactly() -> None:
    exam = load_profile("exam")
    assert exam.python == "3.8"
    assert exam.pinned_versions == EXAM_PINS
    assert "urllib3" in exam.pip_requirements
    assert set(exam.platforms) == {"osx-64", "linux-64", "win-64"}


def test_metal_profile_pairs_tensorflow_macos_29_with_metal_05() -> None:
    metal = load_profile("metal")
    assert metal.python == "3.8"
    pins = metal.pinned_versions
    assert pins["tensorflow-macos"] == "2.9.2"
    assert pins["tensorflow-metal"] == "0.5.0"
    for name, version in EXAM_PINS.items():
        if name != "tensorflow":
            assert pins[name] == version
    assert metal.platforms == ("osx-arm64",)
    assert metal.gpu_required


@pytest.mark.parametrize(
    ("hardware", "expected"),
    [
        (APPLE_SILICON, "metal"),
        (ROSETTA, "metal"),
        (INTEL_MAC, "exam"),
        (LINUX, "exam"),
        (WINDOWS, "exam"),
    ],
)
def test_default_profile_per_machine(hardware: object, expected: str) -> None:
    assert default_profile_name(hardware) == expected  # type: ignore[arg-type]


def test_exam_on_apple_silicon_is_refused_with_reason_and_way_out() -> None:
    with pytest.raises(TfbridgeError) as caught:
        load_profile("exam").check_supported(APPLE_SILICON)
    line = caught.value.one_line()
    assert "no macOS arm64 wheel" in line and "AVX" in line
    assert "tfbridge setup metal" in line and "tfbridge sync" in line


def test_metal_on_linux_is_refused_naming_the_right_profile() -> None:
    with pytest.raises(TfbridgeError, match="does not support linux-64") as caught:
        load_profile("metal").check_supported(LINUX)
    assert "tfbridge setup exam" in caught.value.hint


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(TfbridgeError, match="unknown profile 'gpu'") as caught:
        load_profile("gpu")
    assert "exam, metal" in caught.value.hint


def test_malformed_profile_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("channels: [conda-forge]\ndependencies: [pip]\n")
    with pytest.raises(TfbridgeError, match=r"broken\.yml is malformed"):
        load_profile("broken", tmp_path)


def test_a_requirement_pip_cannot_read_makes_the_profile_malformed(tmp_path: Path) -> None:
    exam = (Path(__file__).resolve().parents[2] / "envs" / "exam.yml").read_text()
    (tmp_path / "typo.yml").write_text(exam.replace("numpy==1.22.4", "numpy=>1.22.4"))
    with pytest.raises(TfbridgeError) as malformed:
        load_profile("typo", tmp_path)
    assert malformed.value.message.endswith(
        "typo.yml is malformed (pip requirement 'numpy=>1.22.4': Expected semicolon (after name "
        "with no version specifier) or end)"
    )


def test_pins_are_exact_versions_by_canonical_name(tmp_path: Path) -> None:
    exam = (Path(__file__).resolve().parents[2] / "envs" / "exam.yml").read_text()
    spelled = ["Tensorflow_Datasets == 4.6.0", "scipy>=1.7,==1.7.3", "pandas==1.4.*"]
    pins = "".join(f"      - {pin}\n" for pin in spelled)
    (tmp_path / "spelled.yml").write_text(exam.replace("      - urllib3\n", pins))
    pinned = load_profile("spelled", tmp_path).pinned_versions
    assert pinned["tensorflow-datasets"] == "4.6.0" and pinned["scipy"] == "1.7.3"
    assert pinned["pandas"] == "1.4.2"  # the exam's own pin; `==1.4.*` pins no one version
