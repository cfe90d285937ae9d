"""The one place that says how to test, lint, type-check, benchmark and build fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
SOURCES = ["tfbridge", "tests", "scripts", "noxfile.py"]


def _ensure_sshd(session: nox.Session) -> None:
    """The sync tests start a real OpenSSH server on 127.0.0.1; Debian's package provides it."""
    if shutil.which("sshd") or Path("/usr/sbin/sshd").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.run("apt-get", "update", "-qq", external=True)
        session.run(
            "apt-get",
            "install",
            "-y",
            "-qq",
            "openssh-server",
            external=True,
            env={"DEBIAN_FRONTEND": "noninteractive"},
        )
        return
    session.error("the sync tests need OpenSSH's sshd: sudo apt-get install openssh-server")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole suite, against the real TF 2.9 exam runtime (built and cached by the tests)."""
    _ensure_sshd(session)
    session.install("-e", ".[test]")
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The README's quick start: build the exam env, verify the bundled examples, convert one."""
    session.install("-e", ".")
    session.run("tfbridge", "setup", "exam")
    session.run("tfbridge", "verify", "examples/mnist_dense.h5", success_codes=[0])
    session.run("tfbridge", "verify", "examples/keras3_model.h5", success_codes=[1])
    converted = Path(session.create_tmp()) / "keras3_model.tf29.h5"
    session.run("tfbridge", "convert", "examples/keras3_model.h5", "-o", str(converted))
    session.run("tfbridge", "verify", str(converted), success_codes=[0])


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (figures printed, never asserted): setup, verify, sync."""
    _ensure_sshd(session)
    session.install("-e", ".[test]")
    session.run("tfbridge", "setup", "exam")
    for script in sorted(Path("scripts").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON)
def fixtures(session: nox.Session) -> None:
    """Rebuild every fixture set (models, semantics, mixed precision, breadth) with real Keras,
    one venv per saver, and relabel them with the real TF 2.9 (scripts/fixtures/build.py)."""
    session.install("-e", ".")
    session.run("python", "scripts/fixtures/build.py", *session.posargs)


@nox.session(python=PYTHON)
def semantics(session: nox.Session) -> None:
    """Build each Keras line's runtime with uv, probe it and 2.9, rewrite keras_semantics.json."""
    session.install("-e", ".")
    session.run("python", "scripts/semantics/build.py", *session.posargs)


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Re-resolve every profile's lock with uv, and read its platform facts."""
    session.install("-e", ".[lock]")
    session.run("tfbridge", "lock")


@nox.session(name="platform-facts", python=PYTHON)
def platform_facts(session: nox.Session) -> None:
    """Regenerate the locks' platform facts (what their binaries need) without re-resolving."""
    session.install("-e", ".[lock]")
    session.run("tfbridge", "lock", "--facts-only", *session.posargs)
