"""`tfbridge doctor`: is this machine ready? Hardware, each profile's lock and environment, the
installed TensorFlow / tensorflow-metal pair, drift from the pins, and GPU visibility."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from tfbridge.envs import (
    CPU_FALLBACK_HINT,
    EnvStatus,
    Hardware,
    Profile,
    check_metal_pair,
    default_profile_name,
    detect,
    env_status,
    gpu_plugin_need,
    load_profile,
    os_verdict,
    profile_names,
    refusal,
)
from tfbridge.envs.lock.venv import check_lock
from tfbridge.errors import TfbridgeError
from tfbridge.inenv import Device, probe_environment
from tfbridge.status import Status

# What the TensorFlow / tensorflow-metal pairing finding reads, besides the profile's pins.
PAIRING_DISTRIBUTIONS = ("tensorflow", "tensorflow-macos", "tensorflow-metal")


@dataclass(frozen=True)
class Finding:
    subject: str
    level: Status  # tfbridge.status: the words verify's checks use too
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
    return Finding("hardware", "pass", text)


def _profile_findings(profile: Profile, hardware: Hardware, check_devices: bool) -> list[Finding]:
    subject = f"profile {profile.name}"
    try:
        profile.check_supported(hardware)
    except TfbridgeError as error:
        return [Finding(subject, "skip", f"not for this machine: {error.message}")]
    findings = [_lock_finding(profile, hardware), os_finding(profile, hardware)]
    status = env_status(profile.name, hardware)
    findings.append(_env_finding(profile, status))
    if status.ready:
        findings.extend(_installed_findings(profile, status, hardware, check_devices))
    return findings


def _installed_findings(
    profile: Profile, status: EnvStatus, hardware: Hardware, check_devices: bool
) -> list[Finding]:
    """What is installed in a ready environment (and the devices TensorFlow sees): one probe."""
    names = [*profile.pinned_versions, *PAIRING_DISTRIBUTIONS]
    try:
        report = probe_environment(status.python, {}, distributions=names, devices=check_devices)
    except TfbridgeError as error:
        return [Finding(f"env {profile.name}", "fail", error.message, error.hint)]
    distributions = report.distributions.items()
    installed: dict[str, str] = {
        canonicalize_name(name): v for name, v in distributions if v is not None
    }
    findings = [*_drift_findings(profile, installed), *_pairing_findings(profile, installed)]
    if check_devices:
        findings.append(_device_finding(profile, report.devices or [], hardware))
    return findings


def _lock_finding(profile: Profile, hardware: Hardware) -> Finding:
    state = check_lock(profile, hardware.conda_platform)
    if state.problem:
        return Finding(
            f"lock {profile.name}", "fail", state.problem, f"run `tfbridge lock {profile.name}`"
        )
    return Finding(f"lock {profile.name}", "pass", f"{state.path.name} matches the profile")


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
    if verdict.shortfalls:  # setup says these as warnings too
        return Finding(subject, "warn", verdict.summary)
    if hardware.os_version is None:
        return Finding(subject, "warn", f"cannot read this machine's {hardware.os_name} version")
    return Finding(subject, "pass", verdict.summary)


def _env_finding(profile: Profile, status: EnvStatus) -> Finding:
    subject = f"env {profile.name}"
    if status.ready and status.current:
        return Finding(subject, "pass", f"ready at {status.python}")
    if not status.exists:
        return Finding(subject, "skip", "not set up", f"run `tfbridge setup {profile.name}`")
    return Finding(
        subject, "fail", f"{status.problem} ({status.path})", f"run `tfbridge setup {profile.name}`"
    )


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
            "pass",
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
        Finding(f"metal {profile.name}", "pass" if check.ok else "fail", check.message, check.hint)
    ]


def _device_finding(profile: Profile, devices: list[Device], hardware: Hardware) -> Finding:
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
    return Finding(f"devices {profile.name}", "pass", f"TensorFlow sees: {names}")
