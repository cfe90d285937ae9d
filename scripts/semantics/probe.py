"""Print, as JSON, what the Keras in THIS interpreter means by each of its built-in names.

Runs in every Keras line's runtime (TF 2.9 on Python 3.8 up to Keras 3), so it keeps Python 3.8
syntax and uses only the stdlib and the runtime's own TensorFlow, Keras, numpy and h5py:

    ENV/bin/python scripts/semantics/probe.py > dump.json

For layers, activations, initializers, regularizers, constraints, losses, metrics, optimizers and
learning-rate schedules it records each built-in's arguments with their defaults: the `get_config()`
of an instance built with only the required arguments where that works, and always the
constructor signature. For layers and activations it also records outputs on fixed inputs, in
inference mode, with every weight set by a rule from its name and shape, so two runtimes can be
compared value by value. Finally it saves a tiny model whose Dense activation is a `tf.nn`
function to `.h5` and records the name written into the file.
"""

import inspect
import json
import logging
import math
import os
import random
import sys
import tempfile
import warnings
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

logging.disable(logging.WARNING)
tf.get_logger().setLevel("ERROR")

K = tf.keras
if K.__name__.startswith("keras._tf_keras"):  # TF 2.16+ with Keras 3: use Keras 3 itself
    import keras as K

KINDS = (
    "activation",
    "constraint",
    "initializer",
    "layer",
    "loss",
    "lr_schedule",
    "metric",
    "optimizer",
    "regularizer",
)

# Values for required constructor arguments; the same in every runtime, so probes compare.
DUMMY_VALUES = {
    "units": 2,
    "filters": 2,
    "kernel_size": 2,
    "pool_size": 2,
    "rate": 0.25,
    "stddev": 0.1,
    "input_dim": 4,
    "output_dim": 2,
    "num_heads": 2,
    "key_dim": 2,
    "n": 2,
    "dims": (2, 1),
    "target_shape": (20,),
    "size": 2,
    "cropping": 1,
    "padding": 1,
    "axis": -1,
    "axes": -1,
    "height": 3,
    "width": 4,
    "factor": 0.2,
    "height_factor": 0.2,
    "width_factor": 0.2,
    "scale": 0.5,
    "num_tokens": 4,
    "max_tokens": 4,
    "num_bins": 3,
    "bin_boundaries": [-0.5, 0.0, 0.5],
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
    "lr": 0.1,
    "num_thresholds": 3,
    "sigma": 1.0,
    "k": 1,
    "activation": "relu",
    "target_class_ids": [0],
    "recall": 0.5,
    "precision": 0.5,
    "specificity": 0.5,
    "sensitivity": 0.5,
    "vocabulary": ["a", "b", "c"],
}

# Per layer: arguments beyond the dummies, the input, and extra variants {label: arguments}.
LAYER_SPECS = {
    "Discretization": {
        "kwargs": {"bin_boundaries": [-0.5, 0.0, 0.5]},
        "input": "r2",
        "variants": {
            "output_mode=one_hot": {"output_mode": "one_hot"},
            "output_mode=multi_hot": {"output_mode": "multi_hot"},
            "output_mode=count": {"output_mode": "count"},
        },
    },
    "CategoryEncoding": {
        "kwargs": {"num_tokens": 4},
        "input": "int2",
        "variants": {"output_mode=count": {"output_mode": "count"}},
    },
    "Hashing": {"input": "str2", "variants": {"input=int": {"input": "int2"}}},
    "HashedCrossing": {"input": "pair_int"},
    "IntegerLookup": {
        "kwargs": {"vocabulary": [1, 2, 3]},
        "input": "int2",
        "variants": {
            "output_mode=multi_hot": {"output_mode": "multi_hot"},
            "output_mode=count": {"output_mode": "count"},
            "vocabulary=[1,2,3,0,5]": {"vocabulary": [1, 2, 3, 0, 5]},
        },
    },
    "StringLookup": {
        "kwargs": {"vocabulary": ["a", "b", "c"]},
        "input": "str2",
        "variants": {
            "output_mode=multi_hot": {"output_mode": "multi_hot"},
            "output_mode=count": {"output_mode": "count"},
            "vocabulary=[a,b,c,z,q]": {"vocabulary": ["a", "b", "c", "z", "q"]},
        },
    },
    "TextVectorization": {
        "kwargs": {"vocabulary": ["a", "b", "c"]},
        "input": "str1",
        "variants": {
            "output_mode=multi_hot": {"output_mode": "multi_hot"},
            "output_mode=count": {"output_mode": "count"},
            "output_sequence_length=4": {"output_sequence_length": 4},
            "vocabulary=[a,b,c,z,q]": {"vocabulary": ["a", "b", "c", "z", "q"]},
        },
    },
    "EinsumDense": {"kwargs": {"equation": "ab,bc->ac", "output_shape": 2}, "input": "r2"},
    "Normalization": {
        "kwargs": {
            "mean": [0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
            "variance": [2.0, 1.0, 0.5, 2.0, 1.0, 0.5],
        },
        "input": "r2",
    },
    "ConvLSTM1D": {"input": "r4"},
    "ConvLSTM2D": {"input": "r5"},
    "ConvLSTM3D": {"input": "r6"},
    "Rescaling": {"kwargs": {"offset": 0.1}, "input": "r4"},
    "Resizing": {
        "input": "r4",
        "variants": {
            "interpolation=nearest": {"interpolation": "nearest"},
            "crop_to_aspect_ratio=True": {"crop_to_aspect_ratio": True},
        },
    },
    "CenterCrop": {"input": "r4"},
    "RandomCrop": {"input": "r4"},
    "Embedding": {"input": "int2"},
    "MultiHeadAttention": {"input": "query_value"},
    "Attention": {"input": "pair_qv"},
    "AdditiveAttention": {"input": "pair_qv"},
    "Add": {"input": "pair"},
    "Subtract": {"input": "pair"},
    "Multiply": {"input": "pair"},
    "Average": {"input": "pair"},
    "Maximum": {"input": "pair"},
    "Minimum": {"input": "pair"},
    "Concatenate": {"input": "pair"},
    "Dot": {"input": "pair"},
    "Bidirectional": {"input": "r3"},
    "TimeDistributed": {"input": "r3"},
    "RNN": {"input": "r3"},
    "Reshape": {"input": "r3"},
    "Permute": {"input": "r3"},
    "RepeatVector": {"input": "r2"},
    "LeakyReLU": {"input": "r2"},
    "ReLU": {"input": "r2", "variants": {"max_value=1": {"max_value": 1.0}}},
    "Softmax": {"input": "r2"},
    "SimpleRNN": {"input": "r3", "variants": {"return_sequences=True": {"return_sequences": True}}},
    "LSTM": {"input": "r3", "variants": {"return_sequences=True": {"return_sequences": True}}},
    "GRU": {"input": "r3", "variants": {"return_sequences=True": {"return_sequences": True}}},
    "Dropout": {"input": "r2"},
}

# Built-ins whose arguments are renamed in some line: (2.9's name, a newer name, a probe value).
# The probe passes the value under whichever name this runtime's constructor takes; the comparer
# calls it a rename only when the outputs agree.
RENAME_CANDIDATES = {"LeakyReLU": ("alpha", "negative_slope", 0.1)}

# Wrappers and cells need fresh layer instances, not values.
LAYER_FACTORIES = {
    "Bidirectional": {"layer": lambda: K.layers.LSTM(2, name="inner")},
    "TimeDistributed": {"layer": lambda: K.layers.Dense(2, name="inner")},
    "RNN": {"cell": lambda: K.layers.SimpleRNNCell(2, name="inner")},
    "StackedRNNCells": {
        "cells": lambda: [
            K.layers.SimpleRNNCell(2, name="c1"),
            K.layers.SimpleRNNCell(2, name="c2"),
        ]
    },
}

# Tried in order for layers without a spec; the same order everywhere.
GENERIC_INPUTS = ("r4", "r3", "r2", "r5")

TF_NN_ACTIVATIONS = (
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
)

NOT_CONSTRUCTED = ("Lambda", "Functional", "Model", "Sequential", "InputLayer")


def _wave(shape, phase):
    count = int(np.prod(shape))
    return (np.sin(np.arange(count) * 0.61 + phase) * 2.0).reshape(shape).astype("float32")


def make_input(input_id):
    """Fixed inputs, by id; a list for layers called on several tensors."""
    strings = np.array([["a", "b", "z"], ["c", "a", "q"]])
    inputs = {
        "r2": lambda: _wave((2, 6), 0.2),
        "r3": lambda: _wave((2, 5, 4), 0.3),
        "r4": lambda: _wave((2, 6, 6, 3), 0.4),
        "r5": lambda: _wave((2, 4, 4, 4, 2), 0.5),
        "r6": lambda: _wave((2, 3, 4, 4, 4, 2), 0.6),
        "int2": lambda: (np.arange(10).reshape(2, 5) % 4).astype("int64"),
        "str2": lambda: strings,
        "str1": lambda: np.array(["a b z", "c a"]),
        "pair": lambda: [_wave((2, 5, 4), 0.3), _wave((2, 5, 4), 1.1)],
        "pair_int": lambda: [np.array([[1], [2]]), np.array([[3], [0]])],
        "pair_qv": lambda: [_wave((2, 5, 4), 0.3), _wave((2, 3, 4), 1.1)],
        "query_value": lambda: [_wave((2, 5, 4), 0.3), _wave((2, 3, 4), 1.1)],
    }
    return inputs[input_id]()


def weight_value(name, shape, rank_among_same_shape):
    """A deterministic value for a weight from its shape and its place among the layer's weights
    of that shape (weight names differ between versions: `depthwise_kernel` became `kernel`)."""
    phase = (zlib.crc32(repr(shape).encode("utf-8")) % 97) * 0.01 + 0.9 * rank_among_same_shape
    count = int(np.prod(shape)) if shape else 1
    values = np.sin(np.arange(count) * 0.7 + phase) * 0.5
    if "variance" in name:
        values = np.abs(values) + 0.1
    return values.reshape(shape).astype("float32")


def to_json(value):
    """A JSON-safe, runtime-independent form of a config value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return repr(number)
        return float(f"{number:.6g}")
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, dict):
        return _dict_to_json(value)
    if isinstance(value, tf.DType):
        return value.name
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return f"<{type(value).__name__}>"


def _dict_to_json(value):
    if "class_name" in value and "config" in value:
        config = value["config"]
        if value["class_name"] in ("DTypePolicy", "Policy", "FloatDTypePolicy"):
            return to_json(config.get("name") if isinstance(config, dict) else config)
        return {"class_name": value["class_name"], "config": to_json(config)}
    return dict((str(key), to_json(item)) for key, item in sorted(value.items()))


def first_line(error):
    text = f"{type(error).__name__}: {error}"
    return text.strip().splitlines()[0][:200] if text.strip() else type(error).__name__


def signature_args(obj):
    """Constructor (or function) parameters with their defaults; required ones as '<required>'."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return {}
    args = {}
    for name, parameter in parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        empty = parameter.default is inspect.Parameter.empty
        args[name] = "<required>" if empty else to_json(parameter.default)
    return args


def constructor_kwargs(name, cls, extra):
    """Dummy values for the required arguments, plus the spec's own and the variant's."""
    kwargs = {}
    for param, default in signature_args(cls).items():
        if default == "<required>" and param in DUMMY_VALUES:
            kwargs[param] = DUMMY_VALUES[param]
    for param, factory in LAYER_FACTORIES.get(name, {}).items():
        kwargs[param] = factory()
    kwargs.update(LAYER_SPECS.get(name, {}).get("kwargs", {}))
    kwargs.update(extra)
    return kwargs


def build_instance(kind, name, cls, extra):
    if name in NOT_CONSTRUCTED:
        raise TypeError("not constructed by the probe (structural or user code)")
    kwargs = constructor_kwargs(name, cls, extra)
    random.seed(0)  # a constructor that draws its own seed draws the same one every run
    np.random.seed(0)
    tf.random.set_seed(0)
    if kind == "layer":
        kwargs.setdefault("name", "probe")  # not an auto-numbered name that differs per run
    return cls(**kwargs)


def public_members(module, base, recurse):
    """{name: object} for a module's public classes deriving from `base` (and its functions)."""
    found = {}
    modules = [module]
    while modules:
        current = modules.pop(0)
        for attr in sorted(dir(current)):
            if attr.startswith("_"):
                continue
            value = getattr(current, attr, None)
            if inspect.ismodule(value):
                if recurse and value.__name__.startswith(current.__name__):
                    modules.append(value)
                continue
            if inspect.isclass(value) and base is not None and issubclass(value, base):
                found.setdefault(value.__name__, value)
            elif inspect.isfunction(value) and base is None:
                found.setdefault(attr, value)
    return found


def catalogue():
    """{kind: {name: object}} of this runtime's built-ins, the names a saved config uses."""
    functions_only = ("serialize", "deserialize", "get", "get_registered_name")
    activations = public_members(K.activations, None, False)
    losses = public_members(K.losses, K.losses.Loss, False)
    losses.update(public_members(K.losses, None, False))
    metrics = public_members(K.metrics, K.metrics.Metric, False)
    metrics.update(public_members(K.metrics, None, False))
    regularizers = public_members(K.regularizers, K.regularizers.Regularizer, False)
    regularizers.update(public_members(K.regularizers, None, False))
    table = {
        "activation": activations,
        "constraint": public_members(K.constraints, K.constraints.Constraint, False),
        "initializer": public_members(K.initializers, K.initializers.Initializer, False),
        "layer": public_members(K.layers, K.layers.Layer, True),
        "loss": losses,
        "lr_schedule": public_members(
            K.optimizers.schedules, K.optimizers.schedules.LearningRateSchedule, False
        ),
        "metric": metrics,
        "optimizer": public_members(K.optimizers, K.optimizers.Optimizer, False),
        "regularizer": regularizers,
    }
    for members in table.values():
        for name in functions_only:
            members.pop(name, None)
    return table


def describe(kind, name, obj):
    """Arguments of one built-in: its default config where it builds, and its signature."""
    entry = {"signature": signature_args(obj)}
    if not inspect.isclass(obj):
        return entry
    try:
        instance = build_instance(kind, name, obj, {})
        entry["config"] = plain_config(instance, {})
    except Exception as error:  # any failure is data: the comparer falls back to the signature
        entry["config_error"] = first_line(error)
    return entry


def assign_weights(layer):
    seen = {}
    for variable in layer.weights:
        if not tf.as_dtype(variable.dtype).is_floating:
            continue  # seed-generator state and counters, not the computation's parameters
        shape = tuple(int(dim) for dim in variable.shape)
        seen[shape] = seen.get(shape, -1) + 1
        variable.assign(weight_value(variable.name, shape, seen[shape]))


def call_layer(layer, input_id):
    inputs = make_input(input_id)
    if input_id == "query_value":
        args = [tf.constant(inputs[0]), tf.constant(inputs[1])]
    elif isinstance(inputs, list):
        args = [[tf.constant(item) for item in inputs]]
    else:
        args = [tf.constant(inputs)]
    try:
        layer(*args, training=False)
    except TypeError:
        layer(*args)
    assign_weights(layer)
    try:
        output = layer(*args, training=False)
    except TypeError:
        output = layer(*args)
    if isinstance(output, (list, tuple)):
        output = output[0]
    return np.asarray(output, dtype="float64")


def output_record(values, input_id):
    finite = np.nan_to_num(values, nan=1e9, posinf=1e9, neginf=-1e9)
    return {
        "input": input_id,
        "shape": list(values.shape),
        "values": [float(f"{item:.7g}") for item in finite.ravel().tolist()],
    }


def default_inputs(name):
    """Inputs to try for a layer without a spec: its rank from the name's 1D/2D/3D suffix."""
    for suffix, input_id in (("1D", "r3"), ("2D", "r4"), ("3D", "r5")):
        if name.endswith(suffix):
            return (input_id,)
    return GENERIC_INPUTS


def probe_layer(name, cls, extra, input_id):
    """Outputs of one layer configuration and the config it ran with, or the error that stopped
    it."""
    candidates = (input_id,) if input_id else default_inputs(name)
    error = None
    for candidate in candidates:
        try:
            layer = build_instance("layer", name, cls, extra)
            called = K.layers.RNN(layer, name="probe_rnn") if is_cell(name) else layer
            record = output_record(call_layer(called, candidate), candidate)
            record["config"] = plain_config(layer, extra)
            return record
        except Exception as failure:  # try the next input shape; report the last failure
            error = failure
    return {"error": first_line(error)}


def is_cell(name):
    """RNN cells are probed inside an RNN layer, the only way a model calls them."""
    return name.endswith(("Cell", "Cells")) and name != "AbstractRNNCell"


def plain_config(instance, given):
    """The instance's config as JSON; a seed the constructor drew itself is not a setting."""
    config = to_json(instance.get_config())
    if isinstance(config.get("seed"), int) and "seed" not in given:
        config["seed"] = "<drawn>"
    config.pop("name", None)
    return config


def replay(requests):
    """Probe layers built here with the arguments another line's config gave them: {line: {name:
    {label: {"kwargs", "input"}}}} -> the same shape with probe records."""
    layers = catalogue()["layer"]
    results = {}
    for line, by_name in sorted(requests.items()):
        results[line] = {}
        for name, by_label in sorted(by_name.items()):
            results[line][name] = dict(
                (label, probe_layer(name, layers[name], request["kwargs"], request["input"]))
                for label, request in sorted(by_label.items())
            )
    return results


def constructs(kind, name, cls, kwargs):
    try:
        build_instance(kind, name, cls, kwargs)
    except Exception:  # rejected: that is the answer
        return False
    return True


def accepted(requests):
    """Which arguments this Keras's constructors take: {kind: {name: {arg: value}}} -> {kind:
    {name: [args]}}. A class that also takes a made-up argument ignores unknown ones, so its
    silence proves nothing: none of its arguments count as taken."""
    members = catalogue()
    results = {}
    for kind, by_name in sorted(requests.items()):
        for name, arguments in sorted(by_name.items()):
            cls = members[kind].get(name)
            if not inspect.isclass(cls) or name in NOT_CONSTRUCTED:
                continue
            if constructs(kind, name, cls, {"tfbridge_no_such_argument": 1}):
                continue
            taken = [
                arg
                for arg, value in sorted(arguments.items())
                if constructs(kind, name, cls, {arg: value})
            ]
            results.setdefault(kind, {})[name] = taken
    return results


def layer_probes(name, cls):
    spec = LAYER_SPECS.get(name, {})
    probes = {"default": probe_layer(name, cls, {}, spec.get("input"))}
    for label, extra in sorted(spec.get("variants", {}).items()):
        extra = dict(extra)
        input_id = extra.pop("input", spec.get("input"))
        probes[label] = probe_layer(name, cls, extra, input_id)
        probes[label]["arguments"] = to_json(extra)
    if name in RENAME_CANDIDATES:
        old, new, value = RENAME_CANDIDATES[name]
        accepted = signature_args(cls)
        param = new if new in accepted else old
        label = f"rename:{old}->{new}={value}"
        probes[label] = probe_layer(name, cls, {param: value}, spec.get("input"))
        probes[label]["argument"] = param
    return probes


def activation_probe(function):
    inputs = np.linspace(-6.0, 6.0, 26).reshape(2, 13).astype("float32")
    try:
        values = np.asarray(function(tf.constant(inputs)), dtype="float64")
    except Exception as error:  # e.g. an activation that needs more arguments
        return {"default": {"error": first_line(error)}}
    return {"default": output_record(values, "linspace")}


def serialized_tf_nn_activations():
    """The activation name written into an .h5 for Dense(activation=tf.nn.<fn>)."""
    import h5py

    written = {}
    folder = tempfile.mkdtemp(prefix="tfbridge-semantics-")
    for fn_name in TF_NN_ACTIVATIONS:
        function = getattr(tf.nn, fn_name, None)
        if function is None:
            continue
        path = os.path.join(folder, fn_name + ".h5")
        try:
            model = K.Sequential([K.Input(shape=(4,)), K.layers.Dense(2, activation=function)])
            model.save(path)
            with h5py.File(path, "r") as handle:
                config = handle.attrs["model_config"]
            config = json.loads(config.decode("utf-8") if isinstance(config, bytes) else config)
            layer = config["config"]["layers"][-1]
            written[fn_name] = to_json(layer["config"]["activation"])
        except Exception as error:  # recorded: the comparer reports it
            written[fn_name] = f"<error: {first_line(error)}>"
        finally:
            if os.path.exists(path):
                os.remove(path)
    os.rmdir(folder)
    return written


def keras_version():
    module = sys.modules.get(K.__name__.split(".")[0])
    return getattr(K, "__version__", None) or getattr(module, "__version__", "?")


def main():
    if sys.argv[1:2] in (["--replay"], ["--accepted"]):
        with open(sys.argv[2]) as handle:
            requests = json.load(handle)
        answer = replay(requests) if sys.argv[1] == "--replay" else accepted(requests)
        json.dump(answer, sys.stdout, sort_keys=True, separators=(",", ":"))
        sys.stdout.write("\n")
        return
    builtins = {}
    for kind, members in sorted(catalogue().items()):
        builtins[kind] = {}
        for name, obj in sorted(members.items()):
            entry = describe(kind, name, obj)
            if kind == "layer":
                entry["probes"] = layer_probes(name, obj)
            elif kind == "activation":
                entry["probes"] = activation_probe(obj)
            builtins[kind][name] = entry
    dump = {
        "format": 1,
        "keras_version": keras_version(),
        "keras_package": K.__name__.split(".")[0],
        "tensorflow_version": tf.__version__,
        "python_version": ".".join(str(part) for part in sys.version_info[:3]),
        "builtins": builtins,
        "tf_nn_activations": serialized_tf_nn_activations(),
    }
    json.dump(dump, sys.stdout, sort_keys=True, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
