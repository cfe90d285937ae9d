"""Join each Keras line's probe dump with 2.9's and derive the semantics table.

A dump is what `probe.py` prints in one runtime. For every built-in that 2.9 also has, the table
says which arguments the line adds (with their defaults), removes, renames or re-defaults, and
whether its outputs on the probe's fixed inputs differ from 2.9's.

- added: in the line's default config, and 2.9 does not take it (not in 2.9's config or
  signature, and 2.9's constructor rejected it when asked: `probe.py --accepted`);
- removed: in 2.9's default config, not in the line's (2.9 then uses its own default);
- renamed: a RENAME_CANDIDATES entry whose probe gave 2.9's output under the new name;
- redefaulted: in both default configs with other values (nested objects cut to the difference);
- computation: outputs compared probe by probe; where the line's config sets an argument 2.9
  has to another value than 2.9's default, 2.9 re-runs that probe with the line's value
  (`probe.py --replay`), so a changed default is not mistaken for a changed computation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

FORMAT = 1
# Outputs agree when no value differs by more than this, scaled by the larger of 1 and the
# largest magnitude 2.9 produced (float32 kernels may reorder sums between versions).
TOLERANCE = 1e-5
RENAME_PREFIX = "rename:"
REQUIRED = "<required>"
# Built-ins whose computation the probe does not compare: containers and user code.
STRUCTURAL = frozenset({"Functional", "InputLayer", "Lambda", "Model", "Sequential"})

Dump = dict[str, Any]
Entry = dict[str, Any]


def round_figure(value: float) -> float:
    return float(f"{value:.3g}")


def arguments(entry: Entry, other: Entry) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides' arguments from the same source: default configs where both built, else
    signatures."""
    if "config" in entry and "config" in other:
        return entry["config"], other["config"]
    return entry["signature"], other["signature"]


def probe_difference(base: Entry, other: Entry) -> float | str | None:
    """Max abs difference of two probe records, a reason they differ in kind, or None when either
    could not run."""
    if "values" not in base or "values" not in other:
        return None
    if base["input"] != other["input"]:
        return None  # each accepted a different input: nothing to compare
    if base["shape"] != other["shape"]:
        return f"output shape {base['shape']} in 2.9, {other['shape']} here"
    if not base["values"]:
        return 0.0
    return max(abs(a - b) for a, b in zip(base["values"], other["values"], strict=True))


def is_changed(difference: float | str, base: Entry) -> bool:
    if isinstance(difference, str):
        return True
    scale = max([1.0, *(abs(value) for value in base["values"])])
    return difference > TOLERANCE * scale


def confirmed_renames(base_probes: Entry, other_probes: Entry) -> dict[str, str]:
    """{new name: 2.9 name} for renames whose probe gave 2.9's output under the new name."""
    renamed = {}
    for label, probe in base_probes.items():
        if not label.startswith(RENAME_PREFIX) or label not in other_probes:
            continue
        other = other_probes[label]
        difference = probe_difference(probe, other)
        if difference is None or is_changed(difference, probe):
            continue
        if probe["argument"] != other["argument"]:
            renamed[other["argument"]] = probe["argument"]
    return renamed


def aligned_arguments(
    base: Entry, other: Entry, accepted: set[str], renamed: dict[str, str]
) -> dict[str, Any]:
    """The arguments 2.9 must be given to mirror the line's configuration of a probe: values the
    line set differently from 2.9's, for arguments 2.9 accepts (renamed ones under 2.9's name).
    Nested objects (initializers) are left out: the probe sets every weight itself."""
    base_config, other_config = base.get("config", {}), other.get("config", {})
    aligned = {}
    for arg, value in other_config.items():
        arg_29 = renamed.get(arg, arg)
        if arg_29 not in accepted or isinstance(value, dict) or value == "<drawn>":
            continue
        if arg_29 in base_config and same_value(base_config[arg_29], value):
            continue
        aligned[arg_29] = value
    return aligned


def replay_requests(base: Dump, lines: dict[str, Dump], accepts: Entry) -> dict[str, Any]:
    """For each line, the layer probes 2.9 must re-run with the line's argument values."""
    requests: dict[str, Any] = {}
    base_layers = base["builtins"]["layer"]
    for line, dump in sorted(lines.items()):
        for name, other in sorted(dump["builtins"]["layer"].items()):
            if name not in base_layers or name in STRUCTURAL:
                continue
            base_entry = base_layers[name]
            accepted = accepted_arguments("layer", name, base_entry, accepts)
            renamed = confirmed_renames(base_entry.get("probes", {}), other.get("probes", {}))
            for label, probe in other.get("probes", {}).items():
                base_probe = base_entry.get("probes", {}).get(label)
                if label.startswith(RENAME_PREFIX) or "values" not in probe or base_probe is None:
                    continue
                aligned = aligned_arguments(base_probe, probe, accepted, renamed)
                if aligned:
                    kwargs = {**base_probe.get("arguments", {}), **aligned}
                    request = {"kwargs": kwargs, "input": probe["input"]}
                    requests.setdefault(line, {}).setdefault(name, {})[label] = request
    return requests


def acceptance_requests(base: Dump, lines: dict[str, Dump]) -> dict[str, Any]:
    """Arguments the lines have that 2.9's default config and signature do not show: 2.9 is then
    asked whether its constructors take them through **kwargs (with the first line's value)."""
    requests: dict[str, Any] = {}
    for _, dump in sorted(lines.items()):
        for kind, members in sorted(dump["builtins"].items()):
            for name, other in sorted(members.items()):
                base_entry = base["builtins"].get(kind, {}).get(name)
                if base_entry is None or "config" not in other:
                    continue
                shown = set(base_entry.get("config", {})) | set(base_entry["signature"])
                for arg, value in other["config"].items():
                    if arg not in shown and value != "<drawn>":
                        requests.setdefault(kind, {}).setdefault(name, {}).setdefault(arg, value)
    return requests


def accepted_arguments(kind: str, name: str, base_entry: Entry, accepts: Entry) -> set[str]:
    """What 2.9 takes: its default config's keys, its signature's names, and what it was seen to
    take through **kwargs (`accepts`, from probe.py --accepted in 2.9)."""
    taken = accepts.get(kind, {}).get(name, [])
    return set(base_entry.get("config", {})) | set(base_entry["signature"]) | set(taken)


def computation(name: str, base: Entry, other: Entry, replayed: Entry) -> Entry | str:
    """'same', or what changed (max abs difference per probe, the arguments that probe set, and
    those 2.9 was given to mirror the line's config), or why nothing could be compared.

    `replayed` holds 2.9's re-runs of probes with the line's argument values: {label: record with
    "given", the arguments it was built with}."""
    if name in STRUCTURAL:
        return {
            "not_compared": "a container or user code: not Keras's computation",
            "structural": True,
        }
    base_probes, other_probes = base.get("probes", {}), other.get("probes", {})
    changed: dict[str, float | str] = {}
    aligned: dict[str, Any] = {}
    errors: list[str] = []
    compared = 0
    for label in sorted(set(base_probes) & set(other_probes)):
        if label.startswith(RENAME_PREFIX):
            continue
        base_probe = replayed.get(label, base_probes[label])
        difference = probe_difference(base_probe, other_probes[label])
        if difference is None:
            errors += [p["error"] for p in (base_probe, other_probes[label]) if "error" in p]
            continue
        compared += 1
        if is_changed(difference, base_probe):
            changed[label] = (
                round_figure(difference) if isinstance(difference, float) else difference
            )
            if label in replayed:
                aligned[label] = replayed[label]["given"]
    if changed:
        outcome: Entry = {"changed": True, "probes": changed}
        outcome["arguments"] = {label: base_probes[label].get("arguments", {}) for label in changed}
        if aligned:
            outcome["aligned"] = aligned
        return outcome
    if compared:
        return "same"
    return {"not_compared": errors[0] if errors else "no probe ran in both runtimes"}


def same_value(base: Any, other: Any) -> bool:
    """Equal, where a nested serialized object (an initializer, a wrapped layer) counts as equal
    when its class and the arguments both versions have agree (its own added or removed arguments
    are reported under its own name; a wrapped layer's name is not a setting)."""
    if isinstance(base, dict) and isinstance(other, dict) and "class_name" in base:
        if base.get("class_name") != other.get("class_name"):
            return False
        base_config, other_config = base.get("config"), other.get("config")
        if isinstance(base_config, dict) and isinstance(other_config, dict):
            shared = (set(base_config) & set(other_config)) - {"name"}
            return all(same_value(base_config[key], other_config[key]) for key in shared)
        return bool(base_config == other_config)
    if isinstance(base, list) and isinstance(other, list) and len(base) == len(other):
        return all(same_value(a, b) for a, b in zip(base, other, strict=True))
    return bool(base == other)


def difference_only(base: Any, other: Any) -> tuple[Any, Any]:
    """Both values cut down to where they differ (for nested objects: the class, and the
    arguments both have with different values), so the table shows the change, not the object."""
    if isinstance(base, dict) and isinstance(other, dict) and "class_name" in base:
        if base.get("class_name") != other.get("class_name") or not isinstance(
            base.get("config"), dict
        ):
            return base.get("class_name"), other.get("class_name")
        base_config, other_config = base["config"], other["config"]
        keys = sorted((set(base_config) & set(other_config)) - {"name"})
        pairs = {
            key: difference_only(base_config[key], other_config[key])
            for key in keys
            if not same_value(base_config[key], other_config[key])
        }
        return (
            {"class_name": base["class_name"], "config": {k: v[0] for k, v in pairs.items()}},
            {"class_name": other["class_name"], "config": {k: v[1] for k, v in pairs.items()}},
        )
    if isinstance(base, list) and isinstance(other, list) and len(base) == len(other):
        pairs_list = [difference_only(a, b) for a, b in zip(base, other, strict=True)]
        return [pair[0] for pair in pairs_list], [pair[1] for pair in pairs_list]
    return base, other


def argument_changes(
    kind: str, name: str, base: Entry, other: Entry, renamed: dict[str, str], accepts: Entry
) -> Entry:
    """added {arg: default} (what 2.9 does not accept), removed, renamed {new: old}, redefaulted
    {arg: [2.9 default, new default]}; only the non-empty ones."""
    base_args, other_args = arguments(base, other)
    accepted = accepted_arguments(kind, name, base, accepts)
    added = {
        arg: value
        for arg, value in other_args.items()
        if arg not in accepted and arg not in renamed and value != REQUIRED
    }
    removed = sorted(
        arg for arg in base_args if arg not in other_args and arg not in renamed.values()
    )
    redefaulted = {
        arg: list(difference_only(base_args[arg], other_args[arg]))
        for arg in sorted(set(base_args) & set(other_args))
        if not same_value(base_args[arg], other_args[arg])
    }
    changes = {"added": added, "removed": removed, "renamed": renamed, "redefaulted": redefaulted}
    return {key: value for key, value in changes.items() if value}


@dataclass
class Evidence29:
    """What 2.9 was asked after the lines were probed: which of their arguments its constructors
    take (`accepts`), and layer probes re-run with each line's argument values (`requests` per
    line, and their `replays`)."""

    accepts: Entry = field(default_factory=dict)
    requests: Entry = field(default_factory=dict)
    replays: Entry = field(default_factory=dict)

    def replayed(self, line: str, name: str) -> Entry:
        """{label: 2.9's record, with "given": the arguments it was built with}."""
        records = self.replays.get(line, {}).get(name, {})
        asked = self.requests.get(line, {}).get(name, {})
        return {
            label: {**record, "given": asked[label]["kwargs"]} for label, record in records.items()
        }


def builtin_change(
    kind: str, name: str, base: Entry, other: Entry, replayed: Entry, accepts: Entry
) -> Entry:
    """How one built-in of a line differs from 2.9's; empty when it does not."""
    renamed = confirmed_renames(base.get("probes", {}), other.get("probes", {}))
    change = argument_changes(kind, name, base, other, renamed, accepts)
    if kind in PROBED_KINDS:
        outcome = computation(name, base, other, replayed)
        if outcome != "same":
            change["computation"] = outcome
    return change


PROBED_KINDS = ("activation", "layer")


def compare_line(base: Dump, other: Dump, line: str, evidence: Evidence29) -> Entry:
    """One line's section of the table."""
    kinds: Entry = {}
    for kind in sorted(base["builtins"]):
        base_kind = base["builtins"][kind]
        other_kind = other["builtins"].get(kind, {})
        common = sorted(set(base_kind) & set(other_kind))
        changes = {
            name: builtin_change(
                kind,
                name,
                base_kind[name],
                other_kind[name],
                evidence.replayed(line, name),
                evidence.accepts,
            )
            for name in common
        }
        kinds[kind] = {
            "compared": len(common),
            "changed": {name: change for name, change in changes.items() if change},
            "missing": sorted(set(base_kind) - set(other_kind)),
            "not_in_2.9": sorted(set(other_kind) - set(base_kind)),
        }
    return {
        "keras_version": other["keras_version"],
        "keras_package": other["keras_package"],
        "tensorflow_version": other["tensorflow_version"],
        "python_version": other["python_version"],
        "kinds": kinds,
        "tf_nn_activations": tf_nn_activations(base, other),
    }


def tf_nn_activations(base: Dump, other: Dump) -> dict[str, Any]:
    """`tf.nn` functions this line writes into an .h5 otherwise than 2.9 does: {function: what the
    line writes}."""
    written_29 = base["tf_nn_activations"]
    return {
        function: value
        for function, value in sorted(other["tf_nn_activations"].items())
        if value != written_29.get(function)
    }


def digest(entry: Entry) -> str:
    """A short, stable fingerprint of a 2.9 built-in: arguments and outputs to 5 digits."""
    probes = {
        label: [float(f"{v:.5g}") for v in probe["values"]] if "values" in probe else "error"
        for label, probe in entry.get("probes", {}).items()
    }
    canonical = {"config": entry.get("config"), "signature": entry["signature"], "probes": probes}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def keras29_side(base: Dump) -> Entry:
    """What the table records of 2.9 itself: versions and a digest per built-in."""
    return {
        "keras_version": base["keras_version"],
        "tensorflow_version": base["tensorflow_version"],
        "python_version": base["python_version"],
        "tf_nn_activations": base["tf_nn_activations"],
        "builtins": {
            kind: {name: digest(entry) for name, entry in sorted(members.items())}
            for kind, members in sorted(base["builtins"].items())
        },
    }


def build_table(base: Dump, lines: dict[str, Dump], evidence: Evidence29) -> Entry:
    """The whole table from 2.9's dump, each line's dump, and what 2.9 was asked after."""
    return {
        "format": FORMAT,
        "generated_by": "scripts/semantics/build.py (probe.py in each runtime, then compare.py)",
        "tolerance": TOLERANCE,
        "keras29": keras29_side(base),
        "lines": {
            line: compare_line(base, dump, line, evidence) for line, dump in sorted(lines.items())
        },
    }


def render(table: Entry) -> str:
    return json.dumps(table, indent=1, sort_keys=True) + "\n"
