"""The environments tfbridge builds, and everything they are built from.

Profiles (`profiles`), their hash-pinned locks (`lock/`), the interpreter a venv is made from
(`interpreters`), this machine's hardware and OS (`hardware`, `os_support`), the tensorflow-metal
pairing (`pairing`), the build itself with its smoke test (`store`, `smoke`, `probe`) and a Jupyter
kernel (`jupyter`). This package sits below `runtime`, `verify`, `sync` and `train`: it imports none
of them, and they import what they need of it from here.
"""

from tfbridge.envs.hardware import Hardware, detect
from tfbridge.envs.os_support import CPU_FALLBACK_HINT, gpu_plugin_need, os_verdict, refusal
from tfbridge.envs.pairing import check_metal_pair, metal_for
from tfbridge.envs.probe import list_devices
from tfbridge.envs.profiles import Profile, default_profile_name, load_profile, profile_names
from tfbridge.envs.store import (
    MARKER,
    EnvStatus,
    SetupResult,
    env_dir,
    env_status,
    list_envs,
    python_in,
    ready_python,
    remove_env,
    setup_profile,
    setup_profiles,
)

__all__ = [
    "CPU_FALLBACK_HINT",
    "MARKER",
    "EnvStatus",
    "Hardware",
    "Profile",
    "SetupResult",
    "check_metal_pair",
    "default_profile_name",
    "detect",
    "env_dir",
    "env_status",
    "gpu_plugin_need",
    "list_devices",
    "list_envs",
    "load_profile",
    "metal_for",
    "os_verdict",
    "profile_names",
    "python_in",
    "ready_python",
    "refusal",
    "remove_env",
    "setup_profile",
    "setup_profiles",
]
