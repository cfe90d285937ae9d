"""Locks: hash-pinned PEP 751 `pylock.toml` files per profile and platform (venv backend, via uv),
and conda-lock lockfiles (conda backend, via conda-lock)."""

from tfbridge.envs.lock.venv import (
    LockedPackage,
    LockFile,
    LockState,
    check_lock,
    lock_path,
    read_lock,
    write_venv_lock,
)

__all__ = [
    "LockFile",
    "LockState",
    "LockedPackage",
    "check_lock",
    "lock_path",
    "read_lock",
    "write_venv_lock",
]
