"""`tfbridge doctor`: is this machine ready? Hardware, each profile's lock and environment, the
installed TensorFlow / tensorflow-metal pair, drift from the pins, and GPU visibility."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tfbridge.envs import EnvStatus, env_status
from tfbridge.errors import TfbridgeError
from tfbridge.hardware import Hardware, detect
from tfbridge.lock.venv import check_lock
from tfbridge.os_support import CPU_FALLBACK_HINT, gpu_plugin_need, os_verdict, refusal
from tfbridge.pairing import check_metal_pair
from tfbridge.profiles import Profile, default_profile_name, load_profile, profile_names

Level = Literal["ok", "info", "warn", "fail"]

_VERSIONS_SCRIPT = """
import json, sys
try:
    from importlib.metadata import distributions
except ImportError:
    from importlib_metadata import distributions
names = {d.metadata["Name"]: d.version for d in distributions() if d.metadata["Name"]}
print(json.dumps({name.lower(): version for name, version in names.items()}))
"""


@dataclass(frozen=True)
class Finding:
    subject: str
    level: Level
    message: str
    hint: str = ""


@dataclass
class DoctorReport:
    hardware: Hardware
    default_profile: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        return any(f.level == "fail" for f in self.findings)


def diagnose(hardware: Hardware | None = None, check_devices: bool = True) -> DoctorReport:
    hardware = hardware or detect()
    report = DoctorReport(hardware, default_profile_name(hardware))
    report.findings.append(_hardware_finding(hardware))
    for name in profile_names():
        report.findings.extend(_profile_findings(load_profile(name), hardware, check_devices))
    return report


def _hardware_finding(hardware: Hardware) -> Finding:
    text = f"{hardware.description}, {hardware.os_description}"
    text += f", conda platform {hardware.conda_platform}"
    if hardware.has_avx is not None:
        text += f", AVX {'present' if hardware.has_avx else 'missing'}"
    if hardware.is_rosetta:
        return Finding(
            "hardware",
            "warn",
            text + " (TensorFlow 2.9 wheels need AVX)",
            "use a native arm64 Python with the `metal` profile",
        )
    if hardware.has_avx is False:
        return Finding(
            "hardware", "warn", text, "TensorFlow 2.9 wheels need AVX: the exam env will not run"
        )
    return Finding("hardware", "ok", text)


def _profile_findings(profile: Profile, hardware: Hardware, check_devices: bool) -> list[Finding]:
    subject = f"profile {profile.name}"
    try:
        profile.check_supported(hardware)
    except TfbridgeError as error:
        return [Finding(subject, "info", f"not for this machine: {error.message}")]
    findings = [_lock_finding(profile, hardware), os_finding(profile, hardware)]
    status = env_status(profile.name, hardware)
    findings.append(_env_finding(profile, status))
    if status.ready:
        installed = installed_versions(status.python)
        findings.extend(_drift_findings(profile, installed))
        findings.extend(_pairing_findings(profile, installed))
        if check_devices:
            findings.append(_device_finding(profile, status.python, hardware))
    return findings


def _lock_finding(profile: Profile, hardware: Hardware) -> Finding:
    state = check_lock(profile, hardware.conda_platform)
    if state.problem:
        return Finding(
            f"lock {profile.name}", "fail", state.problem, f"run `tfbridge lock {profile.name}`"
        )
    return Finding(f"lock {profile.name}", "ok", f"{state.path.name} matches the profile")


def os_finding(profile: Profile, hardware: Hardware) -> Finding:
    """Can this OS load the native files of the lock `profile` installs here?"""
    subject = f"os {profile.name}"
    try:
        verdict = os_verdict(profile, hardware)
    except TfbridgeError as error:
        return Finding(subject, "fail", error.message, error.hint)
    if verdict.blocking:
        refused = refusal(verdict)
        return Finding(subject, "fail", refused.message, refused.hint)
    gpu = verdict.gpu
    if gpu is not None:
        return Finding(subject, "warn", verdict.summary, CPU_FALLBACK_HINT)
    if verdict.shortfalls:
        return Finding(subject, "info", verdict.summary)
    if hardware.os_version is None:
        return Finding(subject, "warn", f"cannot read this machine's {hardware.os_name} version")
    return Finding(subject, "ok", verdict.summary)


def _env_finding(profile: Profile, status: EnvStatus) -> Finding:
    subject = f"env {profile.name}"
    if status.ready and status.current:
        return Finding(subject, "ok", f"ready at {status.python}")
    if not status.exists:
        return Finding(subject, "info", "not set up", f"run `tfbridge setup {profile.name}`")
    return Finding(
        subject, "fail", f"{status.problem} ({status.path})", f"run `tfbridge setup {profile.name}`"
    )


def installed_versions(python: Path) -> dict[str, str]:
    """Distribution name (lower case) -> version installed in the environment of `python`."""
    try:
        done = subprocess.run(
            [str(python), "-c", _VERSIONS_SCRIPT],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        versions = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    return {str(k): str(v) for k, v in versions.items()}


def _drift_findings(profile: Profile, installed: dict[str, str]) -> list[Finding]:
    drift = [
        f"{name} {installed.get(name, 'missing')} (pinned {wanted})"
        for name, wanted in profile.pinned_versions.items()
        if installed.get(name) != wanted
    ]
    if drift:
        return [
            Finding(
                f"pins {profile.name}",
                "fail",
                "drift from the pins: " + ", ".join(drift),
                f"run `tfbridge env remove {profile.name} -y && tfbridge setup {profile.name}`",
            )
        ]
    return [
        Finding(
            f"pins {profile.name}",
            "ok",
            f"{len(profile.pinned_versions)} pinned versions installed",
        )
    ]


def _pairing_findings(profile: Profile, installed: dict[str, str]) -> list[Finding]:
    tensorflow = installed.get("tensorflow-macos") or installed.get("tensorflow")
    metal = installed.get("tensorflow-metal")
    if tensorflow is None or (metal is None and not profile.gpu_required):
        return []
    check = check_metal_pair(tensorflow, metal)
    return [
        Finding(f"metal {profile.name}", "ok" if check.ok else "fail", check.message, check.hint)
    ]


def _device_finding(profile: Profile, python: Path, hardware: Hardware) -> Finding:
    from tfbridge.runtime import list_devices

    devices = list_devices(python)
    names = ", ".join(d.device_type for d in devices) or "none"
    has_gpu = any(d.device_type == "GPU" for d in devices)
    if profile.gpu_required and not has_gpu:
        need = gpu_plugin_need(profile, hardware.conda_platform)
        on = f", on {need} or later" if need else ""
        return Finding(
            f"devices {profile.name}",
            "fail",
            f"TensorFlow sees no GPU (devices: {names})",
            f"check tensorflow-metal is installed and paired (`tfbridge doctor`){on}",
        )
    return Finding(f"devices {profile.name}", "ok", f"TensorFlow sees: {names}")
