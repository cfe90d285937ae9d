"""Findings of the static check, who wrote the file, and the fixes tfbridge suggests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from packaging.version import InvalidVersion, Version

# Where a finding bites: "model" and "weights" stop load_model(path) even with compile=False,
# "compile" stops only the compile=True load the grader does.
Stage = Literal["file", "model", "weights", "compile", "code", "state", "dialect", "contract"]
Severity = Literal["fail", "warn", "pass"]

CHECK_IDS: dict[Stage, str] = {
    "file": "static.file",
    "model": "static.model_config",
    "weights": "static.weights",
    "compile": "static.training_config",
    "code": "static.lambda",
    "state": "static.state",
    "dialect": "static.dialect",
    "contract": "contract",
}

FIX_CONVERT = "run `tfbridge convert` on it, or retrain in the `metal` profile (Keras 2.9)"
FIX_COMPILE = (
    "`tfbridge convert` rewrites its training config for Keras 2.9, or compile with a Keras 2.9 "
    "optimizer and loss before saving (it loads with compile=False, but the grader compiles)"
)
FIX_CUSTOM = (
    "register/replace the custom layer: build it from built-in Keras layers, since the grader "
    "loads without custom_objects"
)
FIX_SAVE_H5 = "save the whole model with `model.save('model.h5')` in the `metal` profile"


# TensorFlow's built-in Keras wrote versions like `2.2.4-tf` and `2.3.0-tf` before Keras 2.4.
TF_KERAS_SUFFIX = "-tf"
_RELEASE = re.compile(r"^(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Finding:
    stage: Stage
    severity: Severity
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Writer:
    """The Keras that saved the file, from its `keras_version` attribute."""

    keras_version: str | None

    @property
    def version(self) -> Version | None:
        """The release, also from the `2.2.4-tf` style TF 2.0-2.3 wrote, which is not PEP 440."""
        text = self.keras_version or ""
        match = _RELEASE.match(text)
        try:
            return Version(text)
        except InvalidVersion:
            return Version(match[1]) if match else None

    @property
    def label(self) -> str:
        version = self.version
        if version is None:
            return "an unknown Keras version"
        if self.keras_version and self.keras_version.endswith(TF_KERAS_SUFFIX):
            return f"tf.keras {self.keras_version} (the Keras built into an older TensorFlow)"
        if version.major >= 3:
            return f"Keras {self.keras_version}"
        if version >= Version("2.16"):
            return f"tf-keras {self.keras_version}"
        return f"Keras {self.keras_version}"


class Problems:
    """Collects problems per place, then merges identical ones so a Keras 3 file with the same
    issue in forty layers yields one finding naming them, not forty."""

    def __init__(self) -> None:
        self._places: dict[tuple[Stage, Severity, str, str], list[str]] = {}

    def add(self, stage: Stage, severity: Severity, where: str, text: str, hint: str = "") -> None:
        places = self._places.setdefault((stage, severity, text, hint), [])
        if where not in places:
            places.append(where)

    def findings(self) -> list[Finding]:
        return [
            Finding(stage, severity, f"{_places(places)}: {text}" if places[0] else text, hint)
            for (stage, severity, text, hint), places in self._places.items()
        ]


def _places(places: Iterable[str]) -> str:
    names = list(places)
    shown = ", ".join(names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")
