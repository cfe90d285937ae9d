"""Environment profiles: `envs/*.yml`, in conda environment.yml form plus tfbridge metadata."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tfbridge.envs.hardware import Hardware
from tfbridge.errors import TfbridgeError
from tfbridge.paths import PROFILE_SUFFIX, profile_names, profiles_dir


@dataclass(frozen=True)
class Unsupported:
    reason: str
    fix: str


@dataclass(frozen=True)
class Profile:
    name: str
    source: Path
    python: str
    channels: tuple[str, ...]
    conda_dependencies: tuple[str, ...]
    pip_requirements: tuple[str, ...]
    platforms: tuple[str, ...]
    purpose: str
    pure_python_sdists: tuple[str, ...] = ()
    imports: dict[str, str] = field(default_factory=dict)
    gpu_required: bool = False
    unsupported: dict[str, Unsupported] = field(default_factory=dict)

    @property
    def pinned_versions(self) -> dict[str, str]:
        """Distribution name (canonical: `pillow`, `tensorflow-datasets`) -> version, for every
        pip pin to exactly one version (`name==version`)."""
        pins: dict[str, str] = {}
        for requirement in map(Requirement, self.pip_requirements):
            exact = [s.version for s in requirement.specifier if s.operator in ("==", "===")]
            if len(exact) == 1 and not exact[0].endswith(".*"):
                pins[canonicalize_name(requirement.name)] = exact[0]
        return pins

    def digest(self, platform: str) -> str:
        """Hash of what a venv lock for `platform` is resolved from; the lock records it."""
        inputs = {
            "python": self.python,
            "platform": platform,
            "pip": sorted(self.pip_requirements),
            "pure_python_sdists": sorted(self.pure_python_sdists),
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def check_supported(self, hardware: Hardware) -> None:
        platform = hardware.conda_platform
        refusal = self.unsupported.get(platform)
        if refusal:
            raise TfbridgeError(
                f"profile '{self.name}' cannot run on {hardware.description}: {refusal.reason}",
                f"Instead, {refusal.fix}",
            )
        if platform not in self.platforms:
            raise TfbridgeError(
                f"profile '{self.name}' does not support {platform} ({hardware.description})",
                f"it is for {', '.join(self.platforms)}; on this machine use "
                f"`tfbridge setup {default_profile_name(hardware)}`",
            )


def load_profile(name: str, directory: Path | None = None) -> Profile:
    path = (directory or profiles_dir()) / f"{name}{PROFILE_SUFFIX}"
    if not path.is_file():
        known = ", ".join(profile_names(directory)) or "none"
        raise TfbridgeError(f"unknown profile '{name}'", f"choose one of: {known}")
    return parse_profile(name, path)


def default_profile_name(hardware: Hardware) -> str:
    return "metal" if hardware.is_apple_silicon else "exam"


def parse_profile(name: str, path: Path) -> Profile:
    import yaml  # PyYAML is slow to import: only once a profile is read

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError, yaml.YAMLError) as error:  # ValueError: not UTF-8
        raise TfbridgeError(
            f"cannot read profile {path}: {error}", "fix the YAML or restore the file from git"
        ) from None
    if not isinstance(document, dict):
        raise TfbridgeError(f"profile {path} is not a YAML mapping", "restore the file from git")
    try:
        return _profile_from_document(name, path, document)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise TfbridgeError(
            f"profile {path} is malformed ({error})",
            "it needs channels, dependencies with python=X.Y and a pip: list, and platforms",
        ) from None


def _profile_from_document(name: str, path: Path, document: dict[str, Any]) -> Profile:
    conda_deps: list[str] = []
    pip_reqs: list[str] = []
    for item in document["dependencies"]:
        if isinstance(item, dict):
            pip_reqs.extend(str(r) for r in item["pip"])
        else:
            conda_deps.append(str(item))
    for requirement in pip_reqs:
        _check_requirement(requirement)
    python = next((d.split("=", 1)[1] for d in conda_deps if d.startswith("python=")), None)
    if python is None:
        raise ValueError("no python=X.Y dependency")
    meta = document.get("tfbridge") or {}
    unsupported = {
        platform: Unsupported(" ".join(str(v["reason"]).split()), " ".join(str(v["fix"]).split()))
        for platform, v in (meta.get("unsupported") or {}).items()
    }
    return Profile(
        name=name,
        source=path,
        python=python,
        channels=tuple(document.get("channels") or ()),
        conda_dependencies=tuple(conda_deps),
        pip_requirements=tuple(pip_reqs),
        platforms=tuple(document["platforms"]),
        purpose=" ".join(str(meta.get("purpose", "")).split()),
        pure_python_sdists=tuple(meta.get("pure_python_sdists") or ()),
        imports=dict(meta.get("imports") or {}),
        gpu_required=bool(meta.get("gpu_required", False)),
        unsupported=unsupported,
    )


def _check_requirement(requirement: str) -> None:
    try:
        Requirement(requirement)
    except InvalidRequirement as error:  # packaging's words span lines: keep the first
        reason = str(error).splitlines()[0]
        raise ValueError(f"pip requirement {requirement!r}: {reason}") from None
