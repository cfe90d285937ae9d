"""The verdict cache stays bounded: pruned on write to the most recently used entries, none older
than MAX_AGE_DAYS, and safe while several processes write and prune at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tfbridge.verify import verdict_cache
from tfbridge.verify.result import Check, ModelReport

DAY = 86400.0


def store(key: str) -> None:
    report = ModelReport(Path(f"/models/{key}.h5"), "pass", runtime_load="compile")
    checks = [Check("runtime.load", "pass", "TF 2.9 loaded it with compile=True, as the grader")]
    verdict_cache.store_verdict(key, report, checks)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TFBRIDGE_HOME", str(tmp_path))
    return verdict_cache.verdicts_dir()


def age(cache: Path, key: str, days: float) -> None:
    when = time.time() - days * DAY
    os.utime(cache / f"{key}.json", (when, when))


def test_a_write_keeps_the_most_recently_used(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verdict_cache, "MAX_ENTRIES", 50)
    for index in range(60):
        store(f"k{index:03d}")
        age(cache, f"k{index:03d}", days=60 - index * 0.5)  # k000 the least recently used
    assert {path.stem for path in cache.glob("*.json")} == {f"k{i:03d}" for i in range(10, 60)}
    assert verdict_cache.load_verdict("k009") is None
    assert verdict_cache.load_verdict("k010") is not None  # a reuse makes it the most recent

    store("fresh")

    kept = {path.stem for path in cache.glob("*.json")}
    assert kept == {"fresh", "k010", *(f"k{i:03d}" for i in range(12, 60))}
    assert not [path for path in cache.iterdir() if path.name.endswith(".tmp")]


def test_a_write_drops_entries_unused_for_ninety_days(cache: Path) -> None:
    for key in ("old", "older", "new"):
        store(key)
    age(cache, "older", days=verdict_cache.MAX_AGE_DAYS + 5)
    age(cache, "old", days=verdict_cache.MAX_AGE_DAYS - 5)
    (cache / verdict_cache.PRUNED_STAMP).unlink()  # the day's age pass ran with the first write

    store("newest")

    assert {path.stem for path in cache.glob("*.json")} == {"old", "new", "newest"}


def test_pruning_a_full_cache_on_write_is_cheap(cache: Path) -> None:
    cache.mkdir()
    for index in range(verdict_cache.MAX_ENTRIES + 1):
        (cache / f"e{index:05d}.json").write_text("{}\n")
    began = time.perf_counter()
    removed = verdict_cache.prune_verdicts(cache)
    full_pass = time.perf_counter() - began
    began = time.perf_counter()
    again = verdict_cache.prune_verdicts(cache)
    names_only = time.perf_counter() - began

    assert (removed, again) == (1, 0)
    assert len(list(cache.glob("*.json"))) == verdict_cache.MAX_ENTRIES
    print(
        f"pruning {verdict_cache.MAX_ENTRIES + 1} entries: {full_pass * 1000:.1f} ms; "
        f"a write that finds {verdict_cache.MAX_ENTRIES}: {names_only * 1000:.1f} ms"
    )


WRITER = """
import sys
from pathlib import Path
from tfbridge.verify import verdict_cache
from tfbridge.verify.result import Check, ModelReport

verdict_cache.MAX_ENTRIES = 40
name = sys.argv[1]
for index in range(150):
    key = "%s-%03d" % (name, index)
    report = ModelReport(Path("/models/m.h5"), "pass", runtime_load="compile")
    verdict_cache.store_verdict(key, report, [Check("runtime.load", "pass", "loaded")])
    verdict_cache.load_verdict("%s-%03d" % ("abcd"[index % 4], index))
"""


def test_concurrent_writers_and_pruners_leave_a_bounded_readable_cache(cache: Path) -> None:
    env = {**os.environ, "TFBRIDGE_HOME": str(cache.parent)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name], env=env, stderr=subprocess.PIPE, text=True
        )
        for name in "abcd"
    ]
    errors = [writer.communicate(timeout=300)[1] for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0, 0, 0], errors
    entries = list(cache.glob("*.json"))
    # Each writer prunes after its own write; the others may each have added one since.
    assert 40 <= len(entries) <= 40 + len(writers)
    assert all(verdict_cache.load_verdict(path.stem) is not None for path in entries)
    assert not [path for path in cache.iterdir() if path.name.endswith(".tmp")]
