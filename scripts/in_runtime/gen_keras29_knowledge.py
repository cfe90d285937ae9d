"""Print, as JSON, what the real Keras 2.9 in THIS interpreter accepts when it loads an .h5 model.

Runs inside the exam runtime (Python 3.8, tensorflow==2.9.0); self-contained (stdlib + keras):

    /tmp/lt/env/bin/python scripts/in_runtime/gen_keras29_knowledge.py \
        > tfbridge/data/keras29_knowledge.json

For every name the 2.9 deserializers resolve (layers, optimizers, losses, metrics, activations,
initializers, regularizers, constraints, learning-rate schedules, dtype policies, plus globally
registered `Custom>` objects) it records the constructor arguments the class accepts and what it
does with an argument it does not know ("raise" or "ignore"). The policy comes from reading the
`__init__` chain and is then checked by experiment: build the class, take its config, add an
unknown argument and call `from_config` as the loader does.
"""

from __future__ import print_function

import ast
import contextlib
import dis
import inspect
import io
import json
import logging
import os
import sys
import textwrap
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.simplefilter("ignore")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.utils import generic_utils  # noqa: E402

logging.disable(logging.WARNING)
tf.get_logger().setLevel("ERROR")

PROBE_ARG = "tfbridge_unknown_probe"
PROBE_NAME = "TfbridgeNoSuchClass"

# Values for required constructor arguments, so the experiment can build the class.
DUMMY_VALUES = {
    "units": 2,
    "filters": 2,
    "kernel_size": 2,
    "pool_size": 2,
    "rate": 0.5,
    "stddev": 0.1,
    "input_dim": 4,
    "output_dim": 2,
    "num_heads": 2,
    "key_dim": 2,
    "n": 2,
    "dims": (1,),
    "target_shape": (1,),
    "size": 2,
    "cropping": 1,
    "padding": 1,
    "axis": -1,
    "height": 2,
    "width": 2,
    "factor": 0.1,
    "height_factor": 0.1,
    "scale": 1.0,
    "num_tokens": 4,
    "max_tokens": 4,
    "num_bins": 2,
    "bin_boundaries": [0.0],
    "depth_multiplier": 1,
    "l1": 0.01,
    "l2": 0.01,
    "max_value": 1.0,
    "min_value": 0.0,
    "initial_learning_rate": 0.1,
    "decay_steps": 10,
    "decay_rate": 0.9,
    "boundaries": [10],
    "values": [0.1, 0.01],
    "first_decay_steps": 10,
    "learning_rate": 0.1,
    "name": "probe",
    "thresholds": 0.5,
    "num_classes": 2,
    "function": None,
    "lr": 0.1,
    "num_thresholds": 3,
    "sigma": 1.0,
    "k": 1,
}


class _Captured(Exception):
    def __init__(self, module_objects):
        Exception.__init__(self, "captured")
        self.module_objects = dict(module_objects or {})


@contextlib.contextmanager
def _capturing_lookups():
    original = generic_utils.get_registered_object

    def capture(name, custom_objects=None, module_objects=None):
        raise _Captured(module_objects)

    generic_utils.get_registered_object = capture
    try:
        yield
    finally:
        generic_utils.get_registered_object = original


def _lookup_table(deserialize):
    """The `module_objects` a Keras deserializer passes to the generic resolver."""
    with _capturing_lookups():
        try:
            deserialize({"class_name": PROBE_NAME, "config": {}})
        except _Captured as captured:
            return captured.module_objects
    raise RuntimeError("deserializer %r did not consult the resolver" % deserialize)


def _deserializers():
    from keras.mixed_precision import policy
    from keras.optimizers.schedules import learning_rate_schedule

    return {
        "activation": keras.activations.deserialize,
        "constraint": keras.constraints.deserialize,
        "dtype_policy": policy.deserialize,
        "initializer": keras.initializers.deserialize,
        "layer": keras.layers.deserialize,
        "loss": keras.losses.deserialize,
        "lr_schedule": learning_rate_schedule.deserialize,
        "metric": keras.metrics.deserialize,
        "optimizer": keras.optimizers.deserialize,
        "regularizer": keras.regularizers.deserialize,
    }


def _qualname(obj):
    return "%s.%s" % (getattr(obj, "__module__", "?"), getattr(obj, "__qualname__", repr(obj)))


def _function_tree(func):
    func = inspect.unwrap(func)
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None


def _set_literal(func, variable):
    """The names in `variable = {...}` inside func's source, or None."""
    tree = _function_tree(func)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Set):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if variable in targets:
                return sorted(elt.value for elt in node.value.elts if isinstance(elt, ast.Constant))
    return None


def _forwards_kwargs(tree):
    """Does the function pass **kwargs on to another __init__ (super or an explicit base)?"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr != "__init__":
                continue
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg is None and isinstance(value, ast.Name) and value.id == "kwargs":
                    return True
    return False


def _raises_on_leftover_kwargs(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
            if "kwargs" in names and any(isinstance(n, ast.Raise) for n in ast.walk(node)):
                return True
    return False


def _string_args(call):
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _keys_taken_from(func, variable):
    """Names the function takes out of dict `variable` before passing it on: `variable.pop("k")`,
    `"k" in variable`, `del variable["k"]`, or helper(variable, ..., "k", ...)."""
    tree = _function_tree(func)
    keys = set()
    if tree is None:
        return keys
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            target = node.func
            if (
                isinstance(target, ast.Attribute)
                and target.attr in ("pop", "get")
                and isinstance(target.value, ast.Name)
                and target.value.id == variable
            ):
                keys.update(_string_args(node)[:1])
            elif any(isinstance(a, ast.Name) and a.id == variable for a in node.args):
                keys.update(_string_args(node))
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant):
            names = [c.id for c in node.comparators if isinstance(c, ast.Name)]
            if variable in names and isinstance(node.left.value, str):
                keys.add(node.left.value)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == variable
                ):
                    keys.update(
                        n.value
                        for n in ast.walk(target.slice)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    )
    return keys


def _from_config_keys(cls):
    """Config keys the class's own from_config consumes (Lambda's `function_type`, ...)."""
    keys = set()
    for klass in cls.__mro__:
        method = klass.__dict__.get("from_config")
        if method is not None:
            keys |= _keys_taken_from(getattr(method, "__func__", method), "config")
    return keys


def _named_parameters(func):
    try:
        signature = inspect.signature(inspect.unwrap(func))
    except (TypeError, ValueError):
        return [], [], True
    named, required, var_keyword = [], [], False
    for index, param in enumerate(signature.parameters.values()):
        if index == 0 and param.name in ("self", "cls"):
            continue
        if param.kind == param.VAR_KEYWORD:
            var_keyword = True
        elif param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            named.append(param.name)
            if param.default is param.empty:
                required.append(param.name)
    return named, required, var_keyword


def _static_policy(cls):
    """Walk the __init__ chain: accepted argument names and the unknown-argument policy."""
    accepted, required, first = set(), [], True
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is object:
            return accepted, required, "raise", "object.__init__ takes no arguments"
        named, needed, var_keyword = _named_parameters(init)
        accepted.update(named)
        if var_keyword:
            accepted.update(_keys_taken_from(init, "kwargs"))
        if first:
            required, first = needed, False
        if not var_keyword:
            return accepted, required, "raise", "%s.__init__ has no **kwargs" % klass.__name__
        allowed = _set_literal(init, "allowed_kwargs")
        if allowed is not None:
            accepted.update(allowed)
            return accepted, required, "raise", "%s validates kwargs" % klass.__name__
        tree = _function_tree(init)
        process = klass.__dict__.get("_process_kwargs")
        if process is not None and tree is not None and "_process_kwargs" in ast.dump(tree):
            accepted.update(_set_literal(process, "legacy_kwargs") or [])
            return accepted, required, "raise", "%s._process_kwargs raises" % klass.__name__
        if tree is None:
            return accepted, required, "ignore", "%s.__init__ source unavailable" % klass.__name__
        if _forwards_kwargs(tree):
            continue
        if _raises_on_leftover_kwargs(tree):
            return accepted, required, "raise", "%s.__init__ rejects leftovers" % klass.__name__
        return accepted, required, "ignore", "%s.__init__ drops **kwargs" % klass.__name__
    return accepted, required, "ignore", "no __init__ found"


def _load_like_keras(cls, config):
    """What generic_utils.deserialize_keras_object does with a resolved class and its config."""
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)


def _experiment(cls, required):
    """Build cls, round-trip its config with an unknown argument: "raise", "ignore" or None."""
    if any(name not in DUMMY_VALUES for name in required):
        return None
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            instance = cls(**dict((name, DUMMY_VALUES[name]) for name in required))
            config = instance.get_config()
            _load_like_keras(cls, dict(config))
    except Exception:  # any failure means the experiment is inconclusive
        return None
    probed = dict(config)
    probed[PROBE_ARG] = 1
    try:
        with contextlib.redirect_stdout(sink):
            _load_like_keras(cls, probed)
    except Exception as error:
        return "raise" if PROBE_ARG in str(error) or isinstance(error, TypeError) else None
    return "ignore"


def _describe(obj):
    if inspect.isclass(obj):
        accepted, required, policy, reason = _static_policy(obj)
        accepted |= _from_config_keys(obj)
        measured = _experiment(obj, required)
        entry = {
            "kind": "class",
            "qualname": _qualname(obj),
            "args": sorted(accepted),
            "required": sorted(required),
            "unknown_args": measured or policy,
            "policy_source": "experiment" if measured else "source",
            "reason": reason,
            "custom_from_config": "from_config" in obj.__dict__,
        }
        if measured and measured != policy:
            entry["reason"] = "experiment overrides source reading (%s)" % reason
        return entry
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return {"kind": "function", "qualname": _qualname(obj)}
    return {"kind": type(obj).__name__, "qualname": _qualname(type(obj))}


def _table(objects):
    return dict((str(name), _describe(obj)) for name, obj in sorted(objects.items()))


def _layer_base_allowed_kwargs():
    from keras.engine import base_layer

    return _set_literal(base_layer.Layer.__init__, "allowed_kwargs")


def main():
    deserializers = _deserializers()
    tables = dict((category, _table(_lookup_table(fn))) for category, fn in deserializers.items())
    custom = generic_utils.get_custom_objects()
    knowledge = {
        "format": 1,
        "generated_by": "scripts/in_runtime/gen_keras29_knowledge.py",
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "python_version": "%d.%d" % sys.version_info[:2],
        "python_opcodes": dict(sorted(dis.opmap.items())),
        "layer_base_allowed_kwargs": _layer_base_allowed_kwargs(),
        "lowercase_lookup": ["optimizer"],
        "global_custom_objects": _table(custom),
        "categories": tables,
    }
    sys.stdout.write(json.dumps(knowledge, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
