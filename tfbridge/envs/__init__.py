"""The environments tfbridge builds, and everything they are built from.

Profiles (`profiles`), their hash-pinned locks (`lock/`), the interpreter a venv is made from
(`interpreters`), this machine's hardware and OS (`hardware`, `os_support`), the tensorflow-metal
pairing (`pairing`), the build (`build`, `build_lock`, `uvtool`), its smoke test (`smoke`, through
tfbridge.inenv's one probe), where environments live and whether they are ready
(`store`, `prefixes`) and a Jupyter kernel (`jupyter`). This package sits below `runtime`,
`verify`, `sync` and `train`: it imports none of them, and they import what they need from here.
"""

from tfbridge.envs.build import SetupResult, Step, setup_profile, setup_profiles
from tfbridge.envs.hardware import Hardware, detect
from tfbridge.envs.os_support import CPU_FALLBACK_HINT, gpu_plugin_need, os_verdict, refusal
from tfbridge.envs.pairing import check_metal_pair, metal_for
from tfbridge.envs.profiles import Profile, default_profile_name, load_profile
from tfbridge.envs.store import (
    MARKER,
    EnvStatus,
    env_dir,
    env_status,
    list_envs,
    python_in,
    ready_python,
    remove_env,
)
from tfbridge.paths import profile_names

__all__ = [
    "CPU_FALLBACK_HINT",
    "MARKER",
    "EnvStatus",
    "Hardware",
    "Profile",
    "SetupResult",
    "Step",
    "check_metal_pair",
    "default_profile_name",
    "detect",
    "env_dir",
    "env_status",
    "gpu_plugin_need",
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
