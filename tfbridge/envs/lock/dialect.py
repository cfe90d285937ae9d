"""The dialect promise, checked from the locks: every profile saves `.h5` files in the exam's
dialect, so its lock must bring the exam's Python and the exam's Keras (same minor version), and
the Keras its TensorFlow distribution asks for in its own metadata must admit the locked one.

The reference is the exam profile's own locks, so a re-lock that moves either side shows here.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from tfbridge.envs.lock.facts import PlatformFacts
from tfbridge.envs.lock.venv import LockFile, lock_path, read_lock
from tfbridge.envs.profiles import load_profile
from tfbridge.errors import TfbridgeError

REFERENCE_PROFILE = "exam"


@dataclass(frozen=True)
class Dialect:
    python: str
    keras: str

    @property
    def keras_minor(self) -> str:
        return _minor(self.keras)


def exam_dialect() -> Dialect:
    """The exam's Python and the Keras all of its locks agree on."""
    exam = load_profile(REFERENCE_PROFILE)
    kerases = {
        read_lock(lock_path(exam, platform)).version_of("keras") for platform in exam.platforms
    }
    if len(kerases) != 1 or None in kerases:
        raise TfbridgeError(
            f"the {REFERENCE_PROFILE} locks disagree on Keras ({', '.join(map(str, kerases))})",
            f"re-lock them with `tfbridge lock {REFERENCE_PROFILE}`",
        )
    return Dialect(exam.python, str(kerases.pop()))


def dialect_problem(lock: LockFile, facts: PlatformFacts, exam: Dialect) -> str | None:
    """Why `lock` would not save `.h5` files in the exam's dialect, or None."""
    name = lock.path.name
    if lock.python != exam.python:
        return f"{name} is for Python {lock.python}; the exam's is {exam.python}"
    keras = lock.version_of("keras")
    if keras is None or _minor(keras) != exam.keras_minor:
        return f"{name} brings Keras {keras or 'none'}; the exam's is {exam.keras}"
    if not facts.keras_requirements:
        return f"no distribution in {name} asks for keras in its metadata"
    for distribution, requirement in facts.keras_requirements.items():
        if not _admits(requirement, keras):
            return f"{distribution} in {name} asks for {requirement}; the lock has keras {keras}"
    return None


def _admits(requirement: str, version: str) -> bool:
    try:
        return Requirement(requirement).specifier.contains(version, prereleases=True)
    except InvalidRequirement:
        return False


def _minor(version: str) -> str:
    try:
        release = Version(version).release
    except InvalidVersion:
        return version
    return ".".join(map(str, (*release, 0)[:2]))
