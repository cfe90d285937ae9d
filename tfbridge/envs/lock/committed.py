"""The committed locks as a whole: write a lock and its platform facts, or check that both are
current and that the lock keeps the exam's dialect. One row per profile and platform."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tfbridge.envs.lock.binaries import require_readers
from tfbridge.envs.lock.conda import write_conda_lock
from tfbridge.envs.lock.dialect import dialect_problem, exam_dialect
from tfbridge.envs.lock.facts import facts_path, facts_problem, read_facts, write_facts
from tfbridge.envs.lock.inspect import generate_facts
from tfbridge.envs.lock.venv import check_lock, lock_path, read_lock, write_venv_lock
from tfbridge.envs.profiles import Profile, load_profile
from tfbridge.errors import TfbridgeError
from tfbridge.paths import profile_names


@dataclass(frozen=True)
class LockRow:
    profile: str
    platform: str
    path: Path
    status: str  # "current", "stale", or what was written
    problem: str | None = None

    @property
    def stale(self) -> bool:
        return self.status == "stale"


def lock_profiles(
    names: Sequence[str],
    *,
    platforms: Sequence[str] = (),
    backend: str = "venv",
    check: bool = False,
    facts_only: bool = False,
    say: Callable[[str], None],
) -> list[LockRow]:
    """`tfbridge lock`: write (or with `check`, only check) the lock of each named profile (default:
    all) for each of `platforms` (default: the profile's), one row each."""
    if backend not in ("venv", "conda"):
        raise TfbridgeError(f"unknown backend '{backend}'", "use venv or conda")
    rows: list[LockRow] = []
    for profile in [load_profile(name) for name in names or profile_names()]:
        if backend == "conda":
            path = write_conda_lock(profile, platforms)
            rows.append(
                LockRow(profile.name, ",".join(platforms or profile.platforms), path, "written")
            )
            continue
        for platform in platforms or profile.platforms:
            if check:
                rows.append(check_committed(profile, platform))
            else:
                rows.append(write_committed(profile, platform, facts_only=facts_only, say=say))
    return rows


def check_committed(profile: Profile, platform: str) -> LockRow:
    """Is the lock current with its profile, its facts read from it, its dialect the exam's?"""
    state = check_lock(profile, platform)
    problem = (
        state.problem or facts_problem(profile, platform) or lock_dialect_problem(profile, platform)
    )
    return LockRow(
        profile.name, platform, state.path, "current" if problem is None else "stale", problem
    )


def write_committed(
    profile: Profile, platform: str, *, facts_only: bool, say: Callable[[str], None]
) -> LockRow:
    """Re-resolve the lock (unless `facts_only`), then regenerate its platform facts."""
    require_readers()  # before a re-lock, so a missing reader never leaves facts stale
    if not facts_only:
        say(f"resolving {profile.name} for {platform} with uv ...")
        write_venv_lock(profile, platform)
    say(f"installing {profile.name}'s lock for {platform} into a scratch folder to read binaries")
    facts = generate_facts(profile, platform)
    write_facts(facts, facts_path(profile, platform))
    natives = sum(p.native_files for p in facts.packages)
    problem = lock_dialect_problem(profile, platform)
    written = "facts written" if facts_only else "written"
    return LockRow(
        profile.name,
        platform,
        lock_path(profile, platform),
        f"{written} ({natives} native files)" if problem is None else "stale",
        problem,
    )


def lock_dialect_problem(profile: Profile, platform: str) -> str | None:
    try:
        lock = read_lock(lock_path(profile, platform))
        facts = read_facts(facts_path(profile, platform))
        return dialect_problem(lock, facts, exam_dialect())
    except TfbridgeError as error:
        return error.message
