"""What Keras 2.9's loader accepts, read from the knowledge file generated from the real keras 2.9.

The file (`tfbridge/data/keras29_knowledge.json`) is written by
`scripts/in_runtime/gen_keras29_knowledge.py` running inside the exam runtime; a test regenerates it
and fails on drift. Nothing here guesses: a name absent from the file is unknown to Keras 2.9.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from tfbridge.paths import DATA_FILES_DIR

KNOWLEDGE_FILE = DATA_FILES_DIR / "keras29_knowledge.json"

Category = Literal[
    "activation",
    "constraint",
    "dtype_policy",
    "initializer",
    "layer",
    "loss",
    "lr_schedule",
    "metric",
    "optimizer",
    "regularizer",
]


@dataclass(frozen=True)
class Known:
    """One object a Keras 2.9 deserializer resolves a name to."""

    name: str
    kind: str  # "class", "function", ...
    qualname: str
    args: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    raises_on_unknown_args: bool = True

    @property
    def is_class(self) -> bool:
        return self.kind == "class"

    def unknown_args(self, config: dict[str, Any]) -> list[str]:
        """The config keys this class's constructor would reject, in config order."""
        if not self.is_class or not self.raises_on_unknown_args:
            return []
        return [key for key in config if key not in self.args]


class Knowledge:
    """Lookups against the generated knowledge, the way each 2.9 deserializer resolves names."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.keras_version: str = data["keras_version"]
        self.python_version: str = data["python_version"]
        self.python_opcodes: frozenset[int] = frozenset(data["python_opcodes"].values())
        self._tables: dict[str, dict[str, Any]] = data["categories"]
        self._custom: dict[str, Any] = data["global_custom_objects"]
        self._lowercase: frozenset[str] = frozenset(data.get("lowercase_lookup", []))

    def resolve(self, category: Category, name: str) -> Known | None:
        """What `<category>.deserialize({"class_name": name, ...})` finds in Keras 2.9, or None."""
        if name in self._custom:
            return _known(name, self._custom[name])
        table = self._tables[category]
        key = name.lower() if category in self._lowercase and name.lower() in table else name
        entry = table.get(key)
        return None if entry is None else _known(name, entry)

    def names(self, category: Category) -> list[str]:
        return sorted(self._tables[category])


def _known(name: str, entry: dict[str, Any]) -> Known:
    return Known(
        name=name,
        kind=entry["kind"],
        qualname=entry["qualname"],
        args=frozenset(entry.get("args", [])),
        required=frozenset(entry.get("required", [])),
        raises_on_unknown_args=entry.get("unknown_args", "raise") == "raise",
    )


@lru_cache(maxsize=4)
def load_knowledge(path: Path = KNOWLEDGE_FILE) -> Knowledge:
    with path.open(encoding="utf-8") as handle:
        return Knowledge(json.load(handle))
