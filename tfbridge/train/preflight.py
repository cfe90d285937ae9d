"""Before a training script starts: can this OS load the lock's binaries, is its environment
ready, its TensorFlow/Metal pair one Apple supports, and (where the profile needs one) a GPU visible
to TensorFlow?

The device question goes through `tfbridge.inenv.list_devices`, whose one seam asks TensorFlow
(`tfbridge.inenv.probe.ask_environment`); Metal cannot be queried off a Mac, so tests replace only
that seam to simulate one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tfbridge.envs import (
    CPU_FALLBACK_HINT,
    Hardware,
    Profile,
    check_metal_pair,
    gpu_plugin_need,
    metal_for,
    os_verdict,
    ready_python,
    refusal,
)
from tfbridge.errors import TfbridgeError
from tfbridge.inenv import Device, list_devices, probe_environment
from tfbridge.verify.result import Check

HELPERS_DIR = Path(__file__).resolve().parent / "helpers"
TENSORFLOW_DISTRIBUTIONS = ("tensorflow-macos", "tensorflow", "tensorflow-cpu", "tensorflow-intel")
# Read from package metadata by the worker's probe, without importing TensorFlow.
DISTRIBUTIONS = (
    *TENSORFLOW_DISTRIBUTIONS,
    "tensorflow-metal",
    "keras",
    "tf-keras",
    "h5py",
    "numpy",
)
PACKAGES_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class EnvPackages:
    """What a training env has installed, read from package metadata (no TensorFlow import)."""

    python_version: str
    machine: str
    versions: dict[str, str | None]

    @property
    def tensorflow(self) -> str | None:
        return next(filter(None, (self.versions.get(d) for d in TENSORFLOW_DISTRIBUTIONS)), None)

    @property
    def metal(self) -> str | None:
        return self.versions.get("tensorflow-metal")


@dataclass
class Preflight:
    profile: str
    python: Path | None
    device: str = "unknown"
    packages: EnvPackages | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)


def run_preflight(profile: Profile, hardware: Hardware, *, allow_cpu: bool = False) -> Preflight:
    """All checks for training with `profile` here; stops early when its env is not ready."""
    profile.check_supported(hardware)
    os_support = os_check(profile, hardware, allow_cpu=allow_cpu)
    try:
        python = ready_python(profile.name)
    except TfbridgeError as error:
        ready = Check("env.ready", "fail", error.message, error.hint)
        return Preflight(profile.name, None, checks=[os_support, ready])
    preflight = check_training_env(profile, python, hardware, allow_cpu=allow_cpu)
    ready = Check(
        "env.ready", "pass", f"the '{profile.name}' environment is built from its current lock"
    )
    preflight.checks[:0] = [os_support, ready]
    return preflight


def os_check(profile: Profile, hardware: Hardware, *, allow_cpu: bool = False) -> Check:
    """This OS against the lock's platform facts: what its binaries need to load."""
    try:
        verdict = os_verdict(profile, hardware)
    except TfbridgeError as error:
        return Check("os.support", "warn", error.message, error.hint)
    if verdict.blocking:
        refused = refusal(verdict)
        return Check("os.support", "fail", refused.message, refused.hint)
    gpu = verdict.gpu
    if gpu is not None and profile.gpu_required:
        if allow_cpu:
            return Check("os.support", "warn", f"{gpu.reason}; training on the CPU (--allow-cpu)")
        return Check("os.support", "fail", gpu.reason, CPU_FALLBACK_HINT)
    if hardware.os_version is None:
        unknown = f"cannot read this machine's {hardware.os_name} version"
        return Check("os.support", "warn", f"{unknown}; {verdict.highest_need or 'no minimum'}")
    return Check("os.support", "warn" if verdict.shortfalls else "pass", verdict.summary)


def check_training_env(
    profile: Profile, python: Path, hardware: Hardware, *, allow_cpu: bool = False
) -> Preflight:
    """Checks that ask the env itself: its packages, the Metal pair, the devices TensorFlow sees."""
    packages = read_env_packages(python)
    preflight = Preflight(profile.name, python, packages=packages)
    pair = _pair_check(profile, packages)
    if pair is not None:
        preflight.checks.append(pair)
    gpus = [d for d in list_devices(python) if d.device_type == "GPU"]
    preflight.device = f"GPU ({', '.join(d.name for d in gpus)})" if gpus else "CPU"
    preflight.checks.append(_device_check(profile, preflight, hardware, gpus, allow_cpu))
    rosetta = _rosetta_check(hardware, packages)
    if rosetta is not None:
        preflight.checks.append(rosetta)
    return preflight


def read_env_packages(python: Path) -> EnvPackages:
    try:
        probe = probe_environment(
            python, {}, distributions=list(DISTRIBUTIONS), timeout=PACKAGES_TIMEOUT_SECONDS
        )
    except TfbridgeError:
        raise TfbridgeError(
            f"cannot read the installed packages of {python}",
            "rebuild the environment with `tfbridge setup`",
        ) from None
    return EnvPackages(probe.python_version, probe.machine, probe.distributions)


def _pair_check(profile: Profile, packages: EnvPackages) -> Check | None:
    tensorflow = packages.tensorflow
    if tensorflow is None:
        return Check(
            "env.tensorflow",
            "fail",
            "tensorflow is not installed in the environment",
            f"rebuild it with `tfbridge setup {profile.name}`",
        )
    if packages.metal is None and not profile.gpu_required:
        return None
    pair = check_metal_pair(tensorflow, packages.metal)
    return Check("env.metal_pair", "pass" if pair.ok else "fail", pair.message, pair.hint)


def _device_check(
    profile: Profile, preflight: Preflight, hardware: Hardware, gpus: list[Device], allow_cpu: bool
) -> Check:
    if gpus:
        return Check("device.gpu", "pass", f"TensorFlow sees {preflight.device}")
    if not profile.gpu_required:
        return Check("device.gpu", "pass", "training on the CPU (this profile needs no GPU)")
    cause = _no_gpu_cause(profile, preflight, hardware)
    message = f"TensorFlow in {preflight.python} sees no GPU: {cause}"
    if allow_cpu:
        return Check("device.gpu", "warn", message + "; training on the CPU (--allow-cpu)")
    return Check("device.gpu", "fail", message, "fix that, or pass --allow-cpu to train on the CPU")


def _no_gpu_cause(profile: Profile, preflight: Preflight, hardware: Hardware) -> str:
    packages = preflight.packages
    if not hardware.is_apple_silicon:
        return f"Metal needs an Apple Silicon Mac and this is {hardware.description}"
    if packages is not None and packages.machine != "arm64":
        return f"its Python is {packages.machine} (Rosetta 2), and Metal needs an arm64 Python"
    if packages is not None and packages.metal is None:
        wanted = metal_for(packages.tensorflow or "")
        fix = f" (install tensorflow-metal=={wanted})" if wanted else ""
        return f"tensorflow-metal is not installed{fix}"
    need = gpu_plugin_need(profile, hardware.conda_platform)
    if need is None:
        return "tensorflow-metal is installed but registered no device"
    return (
        f"tensorflow-metal is installed but registered no device (its GPU plugin needs {need}; "
        f"this Mac runs {hardware.os_description})"
    )


def _rosetta_check(hardware: Hardware, packages: EnvPackages) -> Check | None:
    if hardware.is_rosetta:
        where = "tfbridge itself runs"
    elif hardware.is_apple_silicon and packages.machine == "x86_64":
        where = "the training environment's Python runs"
    else:
        return None
    return Check(
        "hardware.rosetta",
        "warn",
        f"{where} under Rosetta 2 (x86_64 on Apple Silicon): slow, no AVX, no Metal GPU",
        "install an arm64 Python (e.g. from python.org or conda-forge osx-arm64) and set up again",
    )
