"""venv-backend locks: resolve a profile's pip section with uv for one target platform and Python,
binary wheels only (but for the profile's pure-Python sdists), into a hash-pinned `pylock.toml`."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from packaging.utils import canonicalize_name

from tfbridge.envs.lock import integrity
from tfbridge.envs.profiles import Profile
from tfbridge.envs.uvtool import run_uv
from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_text_atomic
from tfbridge.paths import profiles_dir
from tfbridge.tomlfile import tomllib

# uv's --python-platform for each conda platform name.
UV_PLATFORMS = {
    "linux-64": "x86_64-manylinux_2_17",
    "linux-aarch64": "aarch64-manylinux_2_17",
    "osx-64": "x86_64-apple-darwin",
    "osx-arm64": "aarch64-apple-darwin",
    "win-64": "x86_64-pc-windows-msvc",
}


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    wheels: tuple[str, ...]  # file names
    sdist: str | None
    hashed: bool  # every artifact carries a sha256


@dataclass(frozen=True)
class LockFile:
    path: Path
    profile: str
    platform: str
    python: str
    profile_digest: str
    packages: tuple[LockedPackage, ...]
    package_digests: dict[str, str]  # computed from the package entries as they are now
    recorded_digests: dict[str, str] | None  # as `tfbridge lock` wrote them

    @property
    def hand_edit(self) -> str | None:
        """What was changed by hand since `tfbridge lock` wrote it, or None."""
        return integrity.hand_edit(self.recorded_digests, self.package_digests)

    @property
    def content_digest(self) -> str:
        return integrity.content_digest(self.package_digests)

    def version_of(self, name: str) -> str | None:
        wanted = canonicalize_name(name)
        return next((p.version for p in self.packages if canonicalize_name(p.name) == wanted), None)


@dataclass(frozen=True)
class LockState:
    profile: str
    platform: str
    path: Path
    exists: bool
    current: bool
    hand_edit: str | None = None

    @property
    def problem(self) -> str | None:
        if not self.exists:
            return f"no lock for profile '{self.profile}' on {self.platform} ({self.path})"
        if self.hand_edit:
            return f"{self.path} was edited by hand ({self.hand_edit})"
        if not self.current:
            return f"lock {self.path} does not match profile '{self.profile}' (the profile changed)"
        return None


def lock_path(profile: Profile, platform: str, directory: Path | None = None) -> Path:
    return (directory or profiles_dir() / "locks") / f"pylock.{profile.name}-{platform}.toml"


def write_venv_lock(profile: Profile, platform: str, directory: Path | None = None) -> LockFile:
    """Resolve and write the lock for `profile` on `platform`; return it as read back."""
    if platform not in UV_PLATFORMS:
        raise TfbridgeError(
            f"unknown platform '{platform}'", f"use one of {', '.join(UV_PLATFORMS)}"
        )
    target = lock_path(profile, platform, directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tfbridge-lock-") as scratch:
        requirements = Path(scratch) / "requirements.in"
        requirements.write_text("\n".join(profile.pip_requirements) + "\n")
        resolved = Path(scratch) / f"pylock.{profile.name}.toml"
        run_uv(
            _compile_args(profile, platform, requirements, resolved),
            what=f"resolving profile '{profile.name}' for {platform}",
        )
        text = compose_lock(profile, platform, resolved.read_text())
    write_text_atomic(target, text)
    return read_lock(target)


def _compile_args(profile: Profile, platform: str, requirements: Path, output: Path) -> list[str]:
    args = [
        "pip",
        "compile",
        str(requirements),
        "--python-version",
        profile.python,
        "--python-platform",
        UV_PLATFORMS[platform],
        "--only-binary",
        ":all:",
        "--output-file",
        str(output),
        "--no-header",
        "--quiet",
    ]
    for name in profile.pure_python_sdists:
        args += ["--no-binary", name]
    return args


def compose_lock(profile: Profile, platform: str, resolved: str) -> str:
    """The lock file: a header, uv's package list as uv wrote it (`resolved`, its comments
    dropped), then tfbridge's tables, written with tomli-w: what the lock was resolved from and a
    digest of each package entry (`integrity`)."""
    body = "\n".join(line for line in resolved.splitlines() if not line.startswith("#")).strip()
    digests = integrity.package_digests(tomllib.loads(body)["packages"])
    tables = {
        "profile": profile.name,
        "platform": platform,
        "python": profile.python,
        "profile-digest": profile.digest(platform),
        integrity.DIGESTS_TABLE: digests,
    }
    return f"{_header(profile, platform)}{body}\n\n{tomli_w.dumps({'tool': {'tfbridge': tables}})}"


def _header(profile: Profile, platform: str) -> str:
    return (
        f"# Lock for tfbridge profile '{profile.name}' on {platform} (Python {profile.python}).\n"
        f"# Generated by `tfbridge lock {profile.name} --platform {platform}`; do not edit.\n"
    )


def read_lock(path: Path) -> LockFile:
    hint = "regenerate it with `tfbridge lock` (or restore it from git)"
    problem = regular_file_problem(path)
    if problem is not None:
        raise TfbridgeError(f"lock {path} is unreadable: {problem}", hint)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        meta = document["tool"]["tfbridge"]
        recorded = meta.get(integrity.DIGESTS_TABLE)
        return LockFile(
            path=path,
            profile=str(meta["profile"]),
            platform=str(meta["platform"]),
            python=str(meta["python"]),
            profile_digest=str(meta["profile-digest"]),
            packages=tuple(_package(entry) for entry in document["packages"]),
            package_digests=integrity.package_digests(document["packages"]),
            recorded_digests=None if recorded is None else {k: str(v) for k, v in recorded.items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        # ValueError covers TOMLDecodeError and a file that is not UTF-8
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        raise TfbridgeError(f"lock {path} is unreadable ({reason})", hint) from None


def _package(entry: dict[str, Any]) -> LockedPackage:
    wheels = entry.get("wheels") or []
    sdist = entry.get("sdist")
    artifacts = [*wheels, *([sdist] if sdist else [])]
    return LockedPackage(
        name=entry["name"],
        version=entry["version"],
        wheels=tuple(_file_name(w) for w in wheels),
        sdist=_file_name(sdist) if sdist else None,
        hashed=bool(artifacts) and all("sha256" in (a.get("hashes") or {}) for a in artifacts),
    )


def _file_name(artifact: dict[str, Any]) -> str:
    return str(artifact.get("name") or artifact["url"].rsplit("/", 1)[-1])


def check_lock(profile: Profile, platform: str, directory: Path | None = None) -> LockState:
    path = lock_path(profile, platform, directory)
    if not path.is_file():
        return LockState(profile.name, platform, path, exists=False, current=False)
    lock = read_lock(path)
    current = lock.profile_digest == profile.digest(platform) and lock.platform == platform
    return LockState(profile.name, platform, path, True, current, lock.hand_edit)
