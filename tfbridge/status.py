"""The one vocabulary of outcomes: every check tfbridge reports (verify, doctor, train's
preflight) says pass, warn, fail or skip (did not run here, and why)."""

from __future__ import annotations

from typing import Literal

Status = Literal["pass", "warn", "fail", "skip"]
# A model's overall word: a check may be skipped, a model never is.
Verdict = Literal["pass", "warn", "fail"]
