"""CLI conventions: shell completion of profile and slot names, -q/-v, plain help text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_tfbridge

CONFIG = '[target]\ndest = "exam"\n[slots.q1]\nmodel = "m/q1.h5"\n[slots.q2b]\nmodel = "m/q2.h5"\n'
HELP_PAGES = [
    ("verify",),
    ("convert",),
    ("fingerprint",),
    ("train",),
    ("train", "run"),
    ("train", "list"),
    ("sync",),
    ("sync", "send"),
    ("sync", "status"),
    ("sync", "rollback"),
    ("sync", "init"),
    ("setup",),
    ("lock",),
    ("doctor",),
    ("env", "list"),
    ("env", "path"),
    ("env", "remove"),
    ("worker", "status"),
    ("worker", "stop"),
]
GROUPS = {("train",), ("sync",)}


def complete(words: str, cwd: Path, shell: str = "bash") -> list[str]:
    """What the shell would offer after `words` (a trailing space: a new, empty word)."""
    typed = words.split()
    current = len(typed) if words.endswith(" ") else len(typed) - 1
    env = {
        "_TFBRIDGE_COMPLETE": f"complete_{shell}",
        "COMP_WORDS": words,
        "COMP_CWORD": str(current),
    }
    done = run_tfbridge(env=env, cwd=cwd, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tfbridge sync q", ["q1", "q2b"]),
        ("tfbridge sync send q2", ["q2b"]),
        ("tfbridge sync status ", ["q1", "q2b"]),
        ("tfbridge sync rollback q", ["q1", "q2b"]),
        ("tfbridge verify --slot ", ["q1", "q2b"]),
    ],
)
def test_slot_names_complete_from_the_project_config(
    tmp_path: Path, words: str, expected: list[str]
) -> None:
    (tmp_path / "tfbridge.toml").write_text(CONFIG)
    assert complete(words, tmp_path) == expected


@pytest.mark.parametrize(
    "words",
    ["tfbridge setup ", "tfbridge env path ", "tfbridge env remove ", "tfbridge lock "],
)
def test_profile_names_complete_from_the_profiles_folder(tmp_path: Path, words: str) -> None:
    profiles = sorted(path.stem for path in (REPO / "envs").glob("*.yml"))
    assert profiles and complete(words, tmp_path) == profiles


def test_profile_completion_follows_tfbridge_profiles(tmp_path: Path) -> None:
    (tmp_path / "mine.yml").write_text("name: mine\n")
    env = {
        "_TFBRIDGE_COMPLETE": "complete_bash",
        "COMP_WORDS": "tfbridge setup m",
        "COMP_CWORD": "2",
        "TFBRIDGE_PROFILES": str(tmp_path),
    }
    assert run_tfbridge(env=env, cwd=tmp_path, timeout=60).stdout.split() == ["mine"]


@pytest.mark.parametrize("config", ["[slots\n", "slots = 3\n", "\xff\xfe", None])
def test_a_broken_or_missing_config_completes_nothing_quietly(
    tmp_path: Path, config: str | None
) -> None:
    if config is not None:
        (tmp_path / "tfbridge.toml").write_bytes(config.encode("latin-1"))
    assert complete("tfbridge sync status ", tmp_path) == []


def test_zsh_completion_offers_slots_too(tmp_path: Path) -> None:
    (tmp_path / "tfbridge.toml").write_text(CONFIG)
    env = {"_TFBRIDGE_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "tfbridge sync status "}
    done = run_tfbridge(env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert '"q1"' in done.stdout and '"q2b"' in done.stdout


@pytest.mark.parametrize("page", HELP_PAGES, ids=" ".join)
def test_help_has_no_type_labels_or_braces(page: tuple[str, ...]) -> None:
    done = run_tfbridge(*page, "--help", timeout=60)
    assert done.returncode == 0, done.stderr
    for noise in ("<str>", "<path>", "<list[", "<float>", "<int>", "]...]...", "{"):
        assert noise not in done.stdout, (noise, done.stdout)


# Every command (the groups aside) takes -q and -v.
@pytest.mark.parametrize("page", sorted(set(HELP_PAGES) - GROUPS), ids=" ".join)
def test_reporting_commands_take_quiet_and_verbose(page: tuple[str, ...]) -> None:
    done = run_tfbridge(*page, "--help", timeout=60)
    assert "-q, --quiet" in done.stdout and "-v, --verbose" in done.stdout, done.stdout


def test_doctor_verbose_names_the_machine_and_quiet_only_problems() -> None:
    loud = run_tfbridge("doctor", "-v", "--no-devices", timeout=120)
    assert loud.stdout.startswith("this machine: ") and "conda platform" in loud.stdout
    quiet = run_tfbridge("doctor", "-q", "--no-devices", timeout=120)
    assert not quiet.stdout.startswith("this machine: ")
    assert len(quiet.stdout.splitlines()) < len(loud.stdout.splitlines())
    assert quiet.stdout.splitlines()[-1].startswith("default profile on this machine:")


def test_env_list_verbose_adds_the_interpreter_and_quiet_is_one_line_each() -> None:
    listed = json.loads(run_tfbridge("env", "list", "--json", timeout=60).stdout)["envs"]
    quiet = run_tfbridge("env", "list", "-q", timeout=60).stdout.splitlines()
    assert [line.split()[0] for line in quiet] == [env["profile"] for env in listed]
    loud = run_tfbridge("env", "list", "-v", timeout=60, env={"COLUMNS": "400"})
    assert "python" in loud.stdout and listed[0]["python"] in loud.stdout


def test_sync_init_verbose_shows_what_it_wrote(tmp_path: Path) -> None:
    done = run_tfbridge("sync", "init", "-v", cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (tmp_path / "tfbridge.toml").read_text().strip()
    (tmp_path / "other").mkdir()
    quiet = run_tfbridge("sync", "init", "-q", cwd=tmp_path / "other", timeout=60)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (tmp_path / "other" / "tfbridge.toml").is_file()


def test_convert_quiet_prints_nothing_and_verbose_names_each_dropped_default(
    tmp_path: Path,
) -> None:
    source = REPO / "examples" / "keras3_model.h5"
    convert = ("convert", source, "--no-parity", "-o")
    quiet = run_tfbridge(*convert, tmp_path / "quiet.h5", "-q", timeout=60)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (tmp_path / "quiet.h5").is_file()
    plain = run_tfbridge(*convert, tmp_path / "plain.h5", timeout=60).stdout.splitlines()
    loud = run_tfbridge(*convert, tmp_path / "loud.h5", "-v", timeout=60).stdout.splitlines()
    assert any("default-valued argument(s)" in line for line in plain)
    defaults = [line for line in loud if line.endswith("(a default: no effect)")]
    assert "  dropped: optimizer Adam: use_ema=False (a default: no effect)" in defaults
    assert len(loud) == len(plain) - 1 + len(defaults)


def test_convert_quiet_still_says_when_an_asked_for_parity_check_could_not_run(
    tmp_path: Path,
) -> None:
    source = tmp_path / "k3.h5"
    source.write_bytes((REPO / "examples" / "keras3_model.h5").read_bytes())  # no fingerprint
    done = run_tfbridge("convert", source, "-q", timeout=60)
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.startswith("parity unchecked: no fingerprint of the original")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", [("worker", "status"), ("worker", "stop")], ids=" ".join)
def test_worker_quiet_prints_nothing_and_verbose_says_more(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    home = {"TFBRIDGE_HOME": str(tmp_path)}  # a home of its own: no warm worker of another test
    quiet = run_tfbridge(*command, "-q", env=home, timeout=60)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    plain = run_tfbridge(*command, env=home, timeout=60)
    loud = run_tfbridge(*command, "-v", env=home, timeout=60)
    assert plain.returncode == loud.returncode == 0
    assert plain.stdout.startswith("no warm exam worker")
    assert plain.stdout.strip() in loud.stdout and len(loud.stdout) > len(plain.stdout)
    assert "TFBRIDGE_WORKER_IDLE" in loud.stdout or str(tmp_path) in loud.stdout


def test_env_path_quiet_prints_nothing_and_verbose_names_the_environment(
    exam_python: Path,
) -> None:
    quiet = run_tfbridge("env", "path", "exam", "-q", timeout=60)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    plain = run_tfbridge("env", "path", "exam", timeout=60)
    assert plain.stdout.strip() == str(exam_python) and plain.stderr == ""
    loud = run_tfbridge("env", "path", "exam", "-v", timeout=60)
    assert loud.stdout == plain.stdout  # stdout stays the one path, for $(tfbridge env path exam)
    assert loud.stderr.startswith("exam: ") and "backend, built " in loud.stderr


def test_fingerprint_quiet_prints_nothing_and_verbose_times_each_step(
    exam_python: Path, tmp_path: Path
) -> None:
    model = tmp_path / "m.h5"
    model.write_bytes((REPO / "examples" / "mnist_dense.h5").read_bytes())
    fingerprint = ("fingerprint", model, "--profile", "exam")
    quiet = run_tfbridge(*fingerprint, "-q")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (tmp_path / "m.h5.fingerprint.json").is_file()
    plain = run_tfbridge(*fingerprint)
    loud = run_tfbridge(*fingerprint, "-v")
    assert plain.returncode == loud.returncode == 0 and "1 fingerprinted" in loud.stdout
    steps = plain.stderr.splitlines()
    assert steps and steps[0].startswith("starting TensorFlow in ")
    stamped = loud.stderr.splitlines()
    assert len(stamped) == len(steps)
    assert all(line.startswith("[") and " s] " in line for line in stamped)
