"""Generate a lock's platform facts: install the lock for its own platform into a scratch folder
(uv, hashes required, nothing built or executed), then read every native file it brought.

The lock's sdist-only packages are left out of that install: a profile allows sdists only for
pure-Python distributions (`pure_python_sdists`), which bring no native files, and building one
would run its setup code.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tfbridge.envs.lock.binaries import (
    Format,
    NativeFile,
    native_format,
    read_native_file,
    require_readers,
    version_key,
)
from tfbridge.envs.lock.facts import OS_OF_PLATFORM, PackageFacts, PlatformFacts
from tfbridge.envs.lock.venv import UV_PLATFORMS, lock_path, read_lock
from tfbridge.envs.profiles import Profile
from tfbridge.envs.uvtool import run_uv
from tfbridge.hashing import file_sha256

FORMAT_OF_PLATFORM: dict[str, Format] = {
    "osx-arm64": "mach-o",
    "osx-64": "mach-o",
    "linux-64": "elf",
    "linux-aarch64": "elf",
    "win-64": "pe",
}
ARCHITECTURE_OF_PLATFORM = {
    "osx-arm64": "arm64",
    "osx-64": "x86_64",
    "linux-64": "x86_64",
    "linux-aarch64": "aarch64",
    "win-64": "x86_64",
}
_PACKAGE_SEPARATOR = "\n[[packages]]\n"


def generate_facts(profile: Profile, platform: str, directory: Path | None = None) -> PlatformFacts:
    """Install `profile`'s lock for `platform` into a scratch folder and read its binaries."""
    require_readers()
    lock = lock_path(profile, platform, directory)
    read_lock(lock)  # a clear error for a missing or broken lock, before uv sees it
    with tempfile.TemporaryDirectory(prefix="tfbridge-facts-") as scratch:
        site = install_for_platform(profile, platform, lock, Path(scratch))
        return facts_of_install(profile, platform, lock, site)


def install_for_platform(profile: Profile, platform: str, lock: Path, scratch: Path) -> Path:
    """`uv pip install --target` the lock's wheels as `platform`'s Python would get them."""
    wheels_only = scratch / "lock" / "pylock.toml"  # uv wants a PEP 751 file name
    wheels_only.parent.mkdir()
    wheels_only.write_text(without_sdist_only_packages(lock.read_text(encoding="utf-8")))
    site = scratch / "site"
    run_uv(
        [
            *("pip", "install", "--quiet", "--require-hashes", "--no-build"),
            *("--python-platform", UV_PLATFORMS[platform], "--python-version", profile.python),
            *("--target", site, "-r", wheels_only),
        ],
        what=f"installing {lock.name} for {platform} to read its binaries",
    )
    return site


def without_sdist_only_packages(lock_text: str) -> str:
    """The lock's text less the `[[packages]]` entries that have no wheels."""
    head, *entries = lock_text.split(_PACKAGE_SEPARATOR)
    kept = [entry for entry in entries if "\nwheels = " in "\n" + entry]
    return _PACKAGE_SEPARATOR.join([head, *kept])


def facts_of_install(profile: Profile, platform: str, lock: Path, site: Path) -> PlatformFacts:
    installed = sorted(
        distributions(path=[str(site)]), key=lambda d: canonicalize_name(d.metadata["Name"])
    )
    packages = [_package_facts(dist, platform) for dist in installed]
    return PlatformFacts(
        profile=profile.name,
        platform=platform,
        os=OS_OF_PLATFORM[platform],
        lock_sha256=file_sha256(lock),
        keras_requirements=_keras_requirements(installed),
        packages=tuple(p for p in packages if p.native_files),
    )


def _package_facts(dist: Distribution, platform: str) -> PackageFacts:
    natives = list(_native_files(dist, FORMAT_OF_PLATFORM[platform]))
    target = ARCHITECTURE_OF_PLATFORM[platform]
    minimum, set_by = None, None
    for native, relative in natives:
        for piece in native.slices:
            if piece.architecture != target or piece.minimum_os is None:
                continue
            if minimum is None or version_key(piece.minimum_os) > version_key(minimum):
                minimum, set_by = piece.minimum_os, relative
    return PackageFacts(
        name=canonicalize_name(dist.metadata["Name"]),
        version=dist.version,
        native_files=len(natives),
        architectures=tuple(
            sorted({piece.architecture for native, _ in natives for piece in native.slices})
        ),
        minimum_os=minimum,
        set_by=set_by,
    )


def _native_files(dist: Distribution, wanted: Format) -> Iterable[tuple[NativeFile, str]]:
    """The distribution's files in `wanted` format (a Mac's PE launchers are not its concern)."""
    for record in sorted(dist.files or (), key=str):
        path = Path(str(dist.locate_file(record)))
        if path.is_symlink() or not path.is_file() or native_format(path) != wanted:
            continue
        yield read_native_file(path, wanted), record.as_posix()


def _keras_requirements(installed: list[Distribution]) -> dict[str, str]:
    """Distribution -> the keras it requires, from its own metadata (unconditional ones only)."""
    found: dict[str, str] = {}
    for dist in installed:
        for line in dist.requires or ():
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if canonicalize_name(requirement.name) == "keras" and requirement.marker is None:
                found[canonicalize_name(dist.metadata["Name"])] = str(requirement)
    return found
