"""What each newer Keras line means by the names Keras 2.9 also has, from the measured table.

The table (`tfbridge/data/keras_semantics.json`) is written by `scripts/semantics/build.py`: a probe
runs in the real runtime of each Keras line and in the exam's TF 2.9, records every built-in's
arguments and, for layers and activations, its outputs on fixed inputs with weights set by a rule;
a comparer joins each line with 2.9. `tests/keras29/test_semantics.py` re-probes and fails on drift.

"Exact" in `exact_rewrite` means: the 2.9 config it returns names only arguments 2.9 accepts, and
each difference from the saved config is one the probes showed to be harmless:

- an argument the line added is dropped only when its value equals the line's default, and the
  line's default configuration computed, on the probe inputs, what 2.9's does (for layers and
  activations; for other kinds, whose outputs are not probed, on Keras's rule that a new
  argument's default keeps the old behaviour);
- a renamed argument is renamed back only when the probe gave 2.9's output for the same value
  under the old name;
- an argument whose default changed keeps the value the config states; a config that omits it
  is refused, since 2.9 would fall back to its own, different default (the value is not filled
  in: the same name may mean another thing, e.g. Keras 3's `dtype` on lookups);
- nested activation names in a layer config must mean the same in both versions;
- every other key passes through unchanged (whether 2.9 accepts it is the static check's job).

It refuses, naming the construct and the reason, when the outputs differed (by more than the
table's tolerance) for a configuration the config matches, when they could not be compared at
all, when a new argument has a non-default value, or when the line was not probed. The probes
cover fixed configurations and inputs, so "exact" is as strong as those probes, no stronger.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tfbridge.errors import TfbridgeError
from tfbridge.paths import DATA_FILES_DIR

SEMANTICS_FILE = DATA_FILES_DIR / "keras_semantics.json"
TF_KERAS_LINE = "tf-keras"
KERAS3_PREFIX = "keras-3."
# Config keys whose string value names an activation function.
ACTIVATION_KEYS = ("activation", "recurrent_activation")
# How the table shows a seed a constructor draws for itself when given none.
DRAWN_SEED = "<drawn>"

Json = Any


@dataclass(frozen=True)
class BuiltinChange:
    """How one built-in of a Keras line differs from 2.9's (all fields empty: it does not)."""

    line: str
    kind: str
    name: str
    # Arguments 2.9 does not take -> the line's default; arguments 2.9 has that the line dropped.
    added: Mapping[str, Json] = field(default_factory=dict)
    removed: tuple[str, ...] = ()
    renamed: Mapping[str, str] = field(default_factory=dict)  # line's name -> 2.9's name
    redefaulted: Mapping[str, tuple[Json, Json]] = field(default_factory=dict)
    computation_changed: bool = False
    # Probe label -> max abs difference, or why the outputs differ in kind (e.g. their shape).
    changed_probes: Mapping[str, float | str] = field(default_factory=dict)
    # Probe label -> the arguments that probe set on top of the default configuration.
    changed_when: Mapping[str, Mapping[str, Json]] = field(default_factory=dict)
    # Why the outputs could not be compared (None when they were, or the kind is not probed).
    not_compared: str | None = None
    # A container or user code (InputLayer, Lambda, Sequential...): only its arguments count.
    structural: bool = False

    @property
    def max_abs_difference(self) -> float | None:
        numbers = [value for value in self.changed_probes.values() if isinstance(value, float)]
        return max(numbers) if numbers else None

    @property
    def reason(self) -> str:
        """One sentence on what changed, or '' when nothing did."""
        if self.computation_changed:
            return _outputs_differ(sorted(self.changed_probes.items()))
        if self.not_compared:
            return f"its outputs could not be compared with 2.9's ({self.not_compared})"
        return ""


@dataclass(frozen=True)
class Refusal:
    """Why a config cannot be rewritten exactly for 2.9: the construct and the reason."""

    line: str
    kind: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} (Keras {self.line}): {self.reason}"


def _outputs_differ(probes: list[tuple[str, float | str]]) -> str:
    shown = "; ".join(
        f"probe {label}: {value if isinstance(value, str) else f'max abs difference {value:g}'}"
        for label, value in probes
    )
    return f"its outputs differ from 2.9's under the same name ({shown})"


@cache
def _table() -> dict[str, Json]:
    try:
        data: dict[str, Json] = json.loads(Path(SEMANTICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TfbridgeError(
            f"{SEMANTICS_FILE}: the Keras semantics table cannot be read ({error})",
            "reinstall tfbridge, or regenerate it with: python scripts/semantics/build.py",
        ) from error
    return data


def probed_lines() -> tuple[str, ...]:
    """The Keras lines the table holds, e.g. '2.13', 'tf-keras', 'keras-3.15'."""
    return tuple(sorted(_table()["lines"]))


def line_versions(line: str) -> Mapping[str, str]:
    """The versions a line was probed with: keras, tensorflow and Python."""
    entry = _table()["lines"].get(line, {})
    keys = ("keras_version", "tensorflow_version", "python_version")
    return {key: entry[key] for key in keys if key in entry}


def tf_nn_activations(line: str) -> Mapping[str, Json]:
    """`tf.nn` functions (by their tf.nn name) that this line writes into an .h5 as something
    other than a name 2.9 resolves, with what it writes (e.g. Keras 3 writes tf.nn.softmax as
    {"class_name": "function", "config": "softmax_v2"})."""
    written: dict[str, Json] = _table()["lines"].get(line, {}).get("tf_nn_activations", {})
    return written


def tf_nn_name_in_29(written: str, line: str) -> str | None:
    """The name Keras 2.9 writes for the `tf.nn` function that `line` writes as `written` (e.g.
    Keras 3's 'softmax_v2' is tf.nn.softmax, which 2.9 writes 'softmax'); None if not one."""
    names_29: dict[str, str] = _table()["keras29"].get("tf_nn_activations", {})
    for function, form in tf_nn_activations(line).items():
        if isinstance(form, dict) and form.get("config") == written and function in names_29:
            return names_29[function]
    return None


def keras_line(keras_version: str) -> str | None:
    """The table line for the Keras version that saved a model (an .h5's `keras_version`).

    None for 2.9 and older (nothing to rewrite) and for versions that are not Keras's. Keras 2.10
    to 2.15 are a line each; 2.16 and later Keras 2 are tf-keras; a Keras 3 version maps to the
    probed Keras 3 line with the highest version not newer than it, else the oldest one probed.
    """
    match = re.match(r"\s*(\d+)\.(\d+)", keras_version)
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major == 2:
        if minor <= 9:
            return None
        return f"2.{minor}" if minor <= 15 else TF_KERAS_LINE
    if major == 3:
        return _keras3_line(minor)
    return None


def saver_line(keras_version: str | None) -> str | None:
    """The line to hold a saved file to: `keras_line` of its version; a file that does not say
    which Keras wrote it may be Keras 3's, so it is held to the newest probed Keras 3 line (its
    changed meanings apply)."""
    if keras_version is not None:
        return keras_line(keras_version)
    keras3 = [line for line in probed_lines() if line.startswith(KERAS3_PREFIX)]
    return max(keras3, key=lambda line: int(line[len(KERAS3_PREFIX) :])) if keras3 else None


def _keras3_line(minor: int) -> str | None:
    probed = sorted(
        (int(line[len(KERAS3_PREFIX) :]), line)
        for line in probed_lines()
        if line.startswith(KERAS3_PREFIX) and line[len(KERAS3_PREFIX) :].isdigit()
    )
    if not probed:
        return None
    not_newer = [line for line_minor, line in probed if line_minor <= minor]
    return not_newer[-1] if not_newer else probed[0][1]


def lookup(line: str, kind: str, name: str) -> BuiltinChange | None:
    """How `name` (a 2.9 built-in of `kind`: layer, activation, loss, ...) changed in `line`.

    None when the table does not compare it: the line was not probed, or one side lacks it.
    """
    section = _kind_section(line, kind)
    names_29 = _table()["keras29"]["builtins"].get(kind, {})
    if section is None or name not in names_29 or name in section["missing"]:
        return None
    entry = section["changed"].get(name)
    if entry is None:
        return BuiltinChange(line, kind, name)
    return _change_from_entry(line, kind, name, entry)


def _kind_section(line: str, kind: str) -> dict[str, Json] | None:
    line_entry = _table()["lines"].get(line)
    if line_entry is None:
        return None
    section: dict[str, Json] | None = line_entry["kinds"].get(kind)
    return section


def _change_from_entry(line: str, kind: str, name: str, entry: dict[str, Json]) -> BuiltinChange:
    computation = entry.get("computation", {})
    changed = bool(computation.get("changed"))
    return BuiltinChange(
        line=line,
        kind=kind,
        name=name,
        added=dict(entry.get("added", {})),
        removed=tuple(entry.get("removed", ())),
        renamed=dict(entry.get("renamed", {})),
        redefaulted={arg: (pair[0], pair[1]) for arg, pair in entry.get("redefaulted", {}).items()},
        computation_changed=changed,
        changed_probes=dict(computation.get("probes", {})) if changed else {},
        changed_when=dict(computation.get("arguments", {})) if changed else {},
        not_compared=computation.get("not_compared"),
        structural=bool(computation.get("structural")),
    )


@dataclass(frozen=True)
class Verdict:
    """What the table says about one saved built-in: its config with the exact rewrites done
    (renames applied, new arguments at their no-op default dropped), what was done, and what
    stays undecided: new arguments set to something else (left in `config`, named in
    `not_default` with the line's default), or a refusal when the meaning itself changed."""

    change: BuiltinChange
    config: dict[str, Json]
    renamed: Mapping[str, str] = field(default_factory=dict)
    dropped: Mapping[str, Json] = field(default_factory=dict)
    not_default: Mapping[str, Json] = field(default_factory=dict)
    refusal: Refusal | None = None


def judge(
    line: str, kind: str, name: str, config: Mapping[str, Json], *, activations: bool = True
) -> Verdict | None:
    """The table's verdict on `config` (a `kind` built-in as `line` saved it), or None when the
    table has no word on it (the line was not probed, or it does not compare that name).
    `activations=False` leaves the activations a layer config names to the caller, which asks
    about each (in every form a config may write it) itself."""
    if line not in _table()["lines"]:
        return None
    change = lookup(line, kind, name)
    if change is None:
        return None
    refusal = (
        _computation_refusal(change, config)
        or (_activation_refusal(change, config) if activations else None)
        or _redefault_refusal(change, config)
    )
    renamed = {arg: change.renamed[arg] for arg in config if arg in change.renamed}
    added = {**_added_in_newer_keras3(change, config), **change.added}
    dropped = {
        arg: value for arg, value in config.items() if arg in added and _same(value, added[arg])
    }
    not_default = {
        arg: added[arg] for arg, value in config.items() if arg in added and arg not in dropped
    }
    rewritten = {
        renamed.get(arg, arg): value for arg, value in config.items() if arg not in dropped
    }
    return Verdict(change, rewritten, renamed, dropped, not_default, refusal)


def exact_rewrite(
    line: str, kind: str, name: str, config: Mapping[str, Json]
) -> dict[str, Json] | Refusal:
    """`config` (as the line saved it) rewritten for 2.9, or a Refusal; see the module docstring
    for what "exact" means. The input is not modified."""
    if line not in _table()["lines"]:
        return Refusal(line, kind, name, "this Keras line was not probed, so nothing is known")
    verdict = judge(line, kind, name, config)
    if verdict is None:
        return Refusal(line, kind, name, _absence_reason(line, kind, name))
    if verdict.refusal is not None:
        return verdict.refusal
    for arg, default in verdict.not_default.items():
        return Refusal(line, kind, name, not_default_reason(arg, config[arg], default))
    return verdict.config


def not_default_reason(arg: str, value: Json, default: Json) -> str:
    return (
        f"argument {arg}={value!r} is new since 2.9 and not at its default "
        f"{default!r}, so 2.9 cannot do the same"
    )


def _absence_reason(line: str, kind: str, name: str) -> str:
    section = _kind_section(line, kind)
    if section is not None and name in section["not_in_2.9"]:
        return "Keras 2.9 has no built-in of that name"
    if section is not None and name in section["missing"]:
        return "this Keras line has no built-in of that name"
    return "not a built-in the table compares"


def _added_in_newer_keras3(change: BuiltinChange, config: Mapping[str, Json]) -> dict[str, Json]:
    """Arguments a Keras 3 saver newer than its probed line may write (e.g. Resizing's
    `antialias`, written by 3.10 and probed in 3.15 but not 3.6): those a newer probed line
    added, with their default there, from lines where the config's computation is 2.9's.

    The saver lies between its line and the newer one, so the argument came in between; a new
    argument whose default the newer line showed to compute what 2.9 does is exact at that
    default (other values stay undecided, as for the saver's own line)."""
    if not change.line.startswith(KERAS3_PREFIX) or change.structural:
        return {}
    added: dict[str, Json] = {}
    for line in reversed(_newer_keras3_lines(change.line)):
        newer = lookup(line, change.kind, change.name)
        if newer is None or _computation_refusal(newer, config) is not None:
            continue
        added.update({arg: value for arg, value in newer.added.items() if arg in config})
    return added


def _newer_keras3_lines(line: str) -> list[str]:
    """The probed Keras 3 lines newer than `line`, oldest first."""
    minor = _keras3_minor(line)
    newer = [other for other in probed_lines() if _keras3_minor(other) > minor]
    return sorted(newer, key=_keras3_minor)


def _keras3_minor(line: str) -> int:
    suffix = line[len(KERAS3_PREFIX) :] if line.startswith(KERAS3_PREFIX) else ""
    return int(suffix) if suffix.isdigit() else -1


def _computation_refusal(change: BuiltinChange, config: Mapping[str, Json]) -> Refusal | None:
    if change.not_compared is not None and not change.structural:
        return Refusal(change.line, change.kind, change.name, change.reason)
    for label, arguments in change.changed_when.items():
        if all(_same(config.get(arg), value) for arg, value in arguments.items()):
            reason = _outputs_differ([(label, change.changed_probes[label])])
            return Refusal(change.line, change.kind, change.name, reason)
    return None


def _activation_refusal(change: BuiltinChange, config: Mapping[str, Json]) -> Refusal | None:
    if change.kind != "layer":
        return None
    for key in ACTIVATION_KEYS:
        activation = config.get(key)
        if not isinstance(activation, str):
            continue
        used = lookup(change.line, "activation", activation)
        if used is not None and used.computation_changed:
            reason = f"its {key}={activation!r} means something else in 2.9: {used.reason}"
            return Refusal(change.line, change.kind, change.name, reason)
    return None


def _redefault_refusal(change: BuiltinChange, config: Mapping[str, Json]) -> Refusal | None:
    for arg, (default_29, line_default) in change.redefaulted.items():
        if arg not in config and _is_plain_setting(line_default):
            reason = (
                f"argument {arg} is not in the config and its default changed "
                f"(2.9: {default_29!r}, this line: {line_default!r})"
            )
            return Refusal(change.line, change.kind, change.name, reason)
    return None


def _is_plain_setting(value: Json) -> bool:
    """A value the line really defaults to: not a nested object, nor a seed it draws itself."""
    return not isinstance(value, dict) and value != DRAWN_SEED


def _same(value: Json, expected: Json) -> bool:
    """Equal as JSON would be: a tuple equals a list, 1 equals 1.0."""
    if isinstance(value, tuple):
        value = list(value)
    return bool(value == expected)
