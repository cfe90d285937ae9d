"""tfbridge's one in-environment module: everything tfbridge runs inside a Python environment.

Self-contained on purpose: it runs inside the exam runtime (Python 3.8, TensorFlow 2.9), any other
TensorFlow environment (2.9 .. 2.17, Keras 2, Keras 3, tf-keras), or the grading machine's exam
interpreter with nothing installed, so it is one file using only the standard library, tensorflow,
numpy, h5py and Python 3.8 syntax. tfbridge ships it one way (tfbridge.inenv.shipping: the source
over stdin to `python -c BOOTSTRAP`), locally and over SSH; the training helpers import it by path
and call its public functions (`write_fingerprint`, `keras_version`, `keras_package`, `all_layers`).

Protocol (JSON lines, PROTOCOL_VERSION; the host's schema is tfbridge.inenv.protocol): requests
arrive on the original stdin, responses leave on the original stdout. Both are moved to private file
descriptors at start-up; fd 0 then reads /dev/null and fd 1 points at stderr, so whatever
TensorFlow or a model's own code prints cannot corrupt the protocol. The first line the worker sends
is {"event": "hello", ...} once TensorFlow is imported (at once with `--lazy`: TensorFlow is then
imported by the first request that needs it), or {"event": "fatal", "error": {...}} when it cannot
be. Each request {"id", "op", ...} gets exactly one response {"id", "ok": true, "result": {...}} or
{"id", "ok": false, "error": {...}}. Ops: info, probe, load, predict_probes, fingerprint, shutdown.

`--listen SOCKET --idle SECONDS` is the warm worker: the same protocol over a Unix socket, one
connection at a time (so concurrent callers take turns), the hello line opening each one. A
"shutdown" request ends the worker; closing the connection only ends the conversation. With no
connection for SECONDS it exits, removing its socket. While it lives, a thread touches
SOCKET.alive every HEARTBEAT_SECONDS: a caller queued behind another tells a busy worker (fresh
heartbeat) from a stopped or wedged one (stale).
"""

import base64
import contextlib
import gc
import hashlib
import inspect
import io
import json
import os
import platform
import signal
import socket
import stat
import sys
import threading
import time
import traceback
from datetime import datetime, timezone

PROTOCOL_VERSION = 2
HEARTBEAT_SECONDS = 1.0
# Bump PROBE_ALGORITHM whenever probe generation changes: fingerprints record it.
PROBE_ALGORITHM = 1
PROBE_BATCH = 4
UNKNOWN_DIM_SIZE = 32
DEFAULT_INDEX_HIGH = 10
SEED_BASE = 20240917
WORDS_PER_STRING = 6
# fmt: off
WORDS = (
    "the", "model", "learns", "a", "small", "sentence", "about", "weather", "and", "music",
    "good", "bad", "great", "movie", "review", "never", "again", "always", "happy", "sad",
)
# fmt: on
MAX_ERROR_CHARS = 4000
# The fingerprint file, read back by tfbridge.runtime.fingerprint.
FINGERPRINT_SCHEMA = "tfbridge.fingerprint"
FINGERPRINT_SCHEMA_VERSION = 1
FINGERPRINT_SUFFIX = ".fingerprint.json"


class RequestError(Exception):
    """A request the worker cannot serve (bad op, missing argument)."""


class ModelLoadError(Exception):
    def __init__(self, error_type, message):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message


def _claim_protocol_streams():
    """Move the protocol to private fds so stray prints from TensorFlow or models go to stderr."""
    protocol_in = os.dup(0)
    protocol_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    # Both streams live as long as the process.
    reader = io.open(protocol_in, "r", encoding="utf-8", newline="\n")  # noqa: SIM115
    writer = io.open(protocol_out, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
    return reader, writer


def _forget_own_directory():
    """Running `python worker.py` puts this package's directory first on sys.path; drop it."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]


def _short(text):
    text = str(text)
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "..."


def _error_payload(error):
    return {"type": type(error).__name__, "message": _short(error)}


# ---------------------------------------------------------------- TensorFlow and Keras, detected


def _import_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    import tensorflow as tf

    return tf


def keras_version(keras):
    """The version of the Keras behind `keras` (tf.keras may only be a proxy)."""
    version = getattr(keras, "__version__", None)
    if version:
        return str(version)
    try:
        import keras as standalone

        return str(standalone.__version__)
    except Exception:
        return None


def keras_package(keras):
    """Which package `tf.keras` really is: "keras" (Keras 2 or 3) or "tf_keras"."""
    module = getattr(keras.models.load_model, "__module__", "") or ""
    return module.split(".")[0] or None


def _list_devices(tf):
    """The one place that asks TensorFlow which devices it sees."""
    devices = []
    for device in tf.config.list_physical_devices():
        details = {}
        try:
            details = tf.config.experimental.get_device_details(device) or {}
        except Exception:
            details = {}
        devices.append(
            {
                "name": device.name,
                "device_type": device.device_type,
                "details": dict((str(k), str(v)) for k, v in details.items()),
            }
        )
    return devices


def _hello(tf=None):
    """Who this worker is; the TensorFlow fields stay None until TensorFlow is imported."""
    hello = {
        "event": "hello",
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "python_version": platform.python_version(),
        "tf_version": None,
        "keras_version": None,
        "keras_package": None,
        "numpy_version": None,
        "platform": sys.platform,
        "machine": platform.machine(),
        "executable": sys.executable,
    }
    if tf is not None:
        import numpy

        hello.update(
            tf_version=str(tf.__version__),
            keras_version=keras_version(tf.keras),
            keras_package=keras_package(tf.keras),
            numpy_version=str(numpy.__version__),
        )
    return hello


# ---------------------------------------------------------------- what is installed


def distribution_versions(names):
    """{distribution: installed version or None}, read from package metadata (no import)."""
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def import_outcomes(imports):
    """{module: {"ok", "version", "error"}} for `imports` ({module: its distribution})."""
    import importlib

    outcomes = {}
    for module, distribution in imports.items():
        try:
            importlib.import_module(module)
        except Exception as error:
            outcomes[module] = {"ok": False, "version": None, "error": _describe(error)}
            continue
        version = distribution_versions([distribution])[distribution]
        outcomes[module] = {"ok": True, "version": version, "error": None}
    return outcomes


def _describe(error):
    return _short("%s: %s" % (type(error).__name__, error))


# ---------------------------------------------------------------- loading, one model at a time


class ModelSlot(object):
    """Holds the last model loaded (or the error it gave), so load + predict load only once."""

    def __init__(self, kerases):
        self.kerases = kerases
        self.key = None
        self.model = None
        self.error = None
        self.keras = None

    def get(self, path, compile_model):
        stat = os.stat(path)
        key = (os.path.abspath(path), bool(compile_model), stat.st_mtime_ns, stat.st_size)
        if key != self.key:
            self._drop()
            self.key = key
            self.keras = self.kerases.for_file(path)
            try:
                self.model = _load_model(self.keras, path, compile_model)
            except Exception as error:
                self.error = ModelLoadError(type(error).__name__, _short(error))
        if self.error is not None:
            raise self.error
        return self.model

    def _drop(self):
        # A failed load can leave layers behind too, so clear after any attempt.
        keras, attempted = self.keras, self.key is not None
        self.model = self.error = self.key = self.keras = None
        gc.collect()
        if attempted and keras is not None:
            _clear_session(keras)


class Kerases(object):
    """tf.keras, plus tf_keras for files Keras 2 saved when tf.keras is Keras 3 and tf_keras is
    installed: each model is loaded by the Keras generation that wrote it, where the env has it."""

    def __init__(self, keras):
        self.primary = keras
        self.primary_major = _major(keras_version(keras))
        self._legacy = None

    def for_file(self, path):
        if self.primary_major is None or self.primary_major < 3:
            return self.primary
        if _major(saved_keras_version(path)) != 2:
            return self.primary
        if self._legacy is None:
            try:
                import tf_keras

                self._legacy = tf_keras
            except ImportError:
                self._legacy = False
        return self._legacy or self.primary


def _major(version):
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return None


def saved_keras_version(path):
    try:
        import h5py

        with h5py.File(path, "r") as handle:
            value = handle.attrs.get("keras_version")
    except Exception:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return None if value is None else str(value)


def _clear_session(keras):
    clear = getattr(keras.backend, "clear_session", None)
    if clear is None:
        clear = getattr(getattr(keras, "utils", None), "clear_session", None)
    if clear is not None:
        clear()


def _load_model(keras, path, compile_model):
    load_model = keras.models.load_model
    kwargs = {"compile": bool(compile_model)}
    try:
        if "safe_mode" in inspect.signature(load_model).parameters:
            # Keras 3 refuses Lambda layers by default; tfbridge's verify decides trust before this.
            kwargs["safe_mode"] = False
    except (TypeError, ValueError):
        pass
    return load_model(path, **kwargs)


# ---------------------------------------------------------------- probe inputs


def _dims(shape):
    try:
        dims = shape.as_list()
    except (AttributeError, ValueError):
        dims = list(shape) if shape is not None else []
    return [None if d is None else int(d) for d in dims]


def _dtype_name(dtype):
    name = getattr(dtype, "name", dtype)
    return str(name)


def _layer_of(tensor):
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    return getattr(history, "layer", None) or getattr(history, "operation", None) or history[0]


def _consumers(tensor, depth=0):
    """Layers that take this model input directly (looking inside nested models)."""
    producer = _layer_of(tensor)
    found = []
    for node in getattr(producer, "_outbound_nodes", None) or []:
        layer = getattr(node, "layer", None) or getattr(node, "operation", None)
        if layer is None:
            continue
        inner_inputs = getattr(layer, "inputs", None) if hasattr(layer, "layers") else None
        if inner_inputs and len(inner_inputs) == 1 and depth < 4:
            found.extend(_consumers(inner_inputs[0], depth + 1))
        else:
            found.append(layer)
    return found


def _index_bound(layer):
    """How many ids a layer taking integer ids accepts (Embedding, CategoryEncoding), else None."""
    name = type(layer).__name__
    if name == "Embedding" and getattr(layer, "input_dim", None):
        return int(layer.input_dim)
    if name == "CategoryEncoding" and getattr(layer, "num_tokens", None):
        return int(layer.num_tokens)
    return None


def all_layers(model):
    """Every layer, nested models' own layers included."""
    layers, stack = [], list(getattr(model, "layers", None) or [])
    while stack:
        layer = stack.pop()
        layers.append(layer)
        stack.extend(getattr(layer, "layers", None) or [])
    return layers


def _probe_kind(tensor, dtype, model):
    """(kind, high): how values for this input are drawn."""
    if dtype == "string":
        return "string", None
    if dtype == "bool":
        return "bool", None
    direct = [b for b in map(_index_bound, _consumers(tensor)) if b]
    if direct:
        return "index", min(direct)
    if "int" in dtype:
        anywhere = [b for b in map(_index_bound, all_layers(model)) if b]
        return "index", min(anywhere) if anywhere else DEFAULT_INDEX_HIGH
    return "uniform", None


def _probe_specs(model):
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise RequestError(
            "the model has no defined inputs (a Sequential model saved before it was built); "
            "give its first layer an input shape"
        )
    specs = []
    for index, tensor in enumerate(inputs):
        dims = _dims(tensor.shape)
        dtype = _dtype_name(tensor.dtype)
        kind, high = _probe_kind(tensor, dtype, model)
        batch = dims[0] if dims and dims[0] is not None else PROBE_BATCH
        shape = [batch] + [UNKNOWN_DIM_SIZE if d is None else d for d in dims[1:]]
        specs.append(
            {
                "index": index,
                "name": str(getattr(tensor, "name", "input_%d" % index)),
                "shape": shape,
                "dtype": dtype,
                "kind": kind,
                "high": high,
            }
        )
    return specs


def _probe_array(spec):
    """Deterministic values: numpy's legacy RandomState stream is fixed across numpy versions."""
    import numpy

    rng = numpy.random.RandomState(SEED_BASE + spec["index"])
    shape = tuple(spec["shape"])
    kind = spec["kind"]
    if kind == "string":
        picks = rng.randint(0, len(WORDS), size=(*shape, WORDS_PER_STRING))
        flat = [" ".join(WORDS[i] for i in row) for row in picks.reshape(-1, WORDS_PER_STRING)]
        return numpy.array(flat, dtype=object).reshape(shape)
    if kind == "bool":
        return rng.randint(0, 2, size=shape).astype(bool)
    if kind == "index":
        return rng.randint(0, spec["high"], size=shape).astype(spec["dtype"])
    return rng.uniform(0.0, 1.0, size=shape).astype(spec["dtype"])


def _probe_digest(specs, arrays):
    digest = hashlib.sha256()
    for spec, array in zip(specs, arrays):  # noqa: B905 (Python 3.8)
        digest.update(json.dumps([spec["shape"], spec["dtype"], spec["kind"]]).encode("utf-8"))
        if spec["kind"] == "string":
            digest.update("\0".join(array.reshape(-1).tolist()).encode("utf-8"))
        else:
            digest.update(array.tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- predictions


def _output_list(outputs, model):
    if isinstance(outputs, dict):
        keys = sorted(outputs)
        return keys, [outputs[k] for k in keys]
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != len(outputs):
        names = ["output_%d" % i for i in range(len(outputs))]
    return [str(n) for n in names], list(outputs)


def _plain_array(value):
    """A numpy array of `value`, strings (bytes or objects) as unicode."""
    import numpy

    array = numpy.asarray(value)
    if array.dtype.kind in ("O", "S"):
        array = numpy.array(
            [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in array.reshape(-1)
            ]
        ).reshape(array.shape)
    return array


def _encode_array(array):
    import numpy

    buffer = io.BytesIO()
    numpy.save(buffer, array, allow_pickle=False)
    return {
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "npy_b64": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }


def _predict(tf, model, specs):
    arrays = [_probe_array(spec) for spec in specs]
    tensors = [tf.convert_to_tensor(array) for array in arrays]
    try:
        # One eager call on the whole probe batch: ~30x faster than predict() for small models.
        outputs = model(tensors[0] if len(tensors) == 1 else tensors, training=False)
    except Exception:
        feed = arrays[0] if len(arrays) == 1 else arrays
        outputs = model.predict(feed, batch_size=specs[0]["shape"][0], verbose=0)
    names, values = _output_list(outputs, model)
    return arrays, names, [_to_numpy(v) for v in values]


def _to_numpy(value):
    return value.numpy() if hasattr(value, "numpy") else value


def _all_finite(value):
    import numpy

    array = numpy.asarray(value)
    return array.dtype.kind not in "fc" or bool(numpy.isfinite(array).all())


def _layers_in_order(model):
    """Every layer, nested models' own layers in place of the model, in the model's order."""
    for layer in getattr(model, "layers", None) or []:
        if getattr(layer, "layers", None):
            for inner in _layers_in_order(layer):
                yield inner
        else:
            yield layer


def _first_nonfinite_layer(model):
    """The first layer whose weights hold NaN or Inf (read only once predictions showed some)."""
    for layer in _layers_in_order(model):
        for weight in getattr(layer, "weights", None) or []:
            if not _all_finite(_to_numpy(weight)):
                return str(layer.name)
    return None


# ---------------------------------------------------------------- ops


def _load_payload(path, keras, error=None):
    payload = {"ok": error is None, "error_type": None, "error_message": None}
    payload["keras_version"] = keras_version(keras) if keras is not None else None
    payload["saved_by_keras"] = saved_keras_version(path)
    if error is not None:
        payload.update(error_type=error.error_type, error_message=error.message)
    return payload


class Worker(object):
    """Serves requests; TensorFlow is imported by the first request that needs it, if not given."""

    def __init__(self, tf=None):
        self._tf = tf
        self._slot = None

    @property
    def tf(self):
        if self._tf is None:
            self._tf = _import_tensorflow()
        return self._tf

    @property
    def slot(self):
        if self._slot is None:
            self._slot = ModelSlot(Kerases(self.tf.keras))
        return self._slot

    def handle(self, request):
        op = request.get("op")
        if op == "info":
            return self.info()
        if op == "probe":
            return self.probe(
                request.get("distributions") or [],
                request.get("imports") or {},
                bool(request.get("devices")),
            )
        if op == "load":
            return self.load(_path_of(request), request.get("compile", True))
        if op == "predict_probes":
            return self.predict_probes(_path_of(request), request.get("compile", True))
        if op == "fingerprint":
            return self.fingerprint(_path_of(request))
        raise RequestError("unknown op %r" % (op,))

    def info(self):
        result = _hello(self.tf)
        del result["event"]
        result["devices"] = _list_devices(self.tf)
        return result

    def probe(self, distributions, imports, devices):
        """What this environment has, without importing TensorFlow unless `devices` is asked."""
        found_devices, device_error = None, None
        if devices:
            try:
                found_devices = _list_devices(self.tf)
            except Exception as error:  # TensorFlow does not import: the smoke test says why
                device_error = _describe(error)
        found_imports = import_outcomes(imports)
        result = _hello(self._tf)
        del result["event"]
        result["distributions"] = distribution_versions(distributions)
        result["imports"] = found_imports
        result["devices"] = found_devices
        result["device_error"] = device_error
        return result

    def load(self, path, compile_model):
        try:
            self.slot.get(path, compile_model)
        except ModelLoadError as error:
            return _load_payload(path, self.slot.keras, error)
        return _load_payload(path, self.slot.keras)

    def predict_probes(self, path, compile_model):
        result, values = self._probe_run(path, compile_model)
        result["outputs"] = [_encode_array(value) for value in values]
        return result

    def fingerprint(self, path):
        """The probe run without compiling (as the trainer would load it), plus the fingerprint
        file's text when the model loaded and predicted."""
        result, values = self._probe_run(path, False)
        result["outputs"] = [_encode_array(value) for value in values]
        result["fingerprint"] = None
        if result["load"]["ok"] and result["error"] is None:
            document = fingerprint_document(path, self.info(), result, values)
            result["fingerprint"] = fingerprint_text(document)
        return result

    def _probe_run(self, path, compile_model):
        """(the predict_probes result without its outputs, the outputs as plain arrays)."""
        result = {
            "load": self.load(path, compile_model),
            "algorithm": PROBE_ALGORITHM,
            "probes": [],
            "digest": None,
            "output_names": [],
            "outputs": [],
            "error": None,
            "nonfinite_layer": None,
        }
        if not result["load"]["ok"]:
            return result, []
        model = self.slot.get(path, compile_model)
        try:
            specs = _probe_specs(model)
            result["probes"] = specs
            arrays, names, values = _predict(self.tf, model, specs)
            values = [_plain_array(value) for value in values]
        except Exception as error:
            result["error"] = _error_payload(error)
            return result, []
        result["digest"] = _probe_digest(specs, arrays)
        result["output_names"] = names
        if not all(_all_finite(value) for value in values):
            result["nonfinite_layer"] = _first_nonfinite_layer(model)
        return result, values


# ---------------------------------------------------------------- fingerprints


def fingerprint_document(path, writer, result, values):
    """The fingerprint of the model at `path`: `writer` is the info of the environment that ran
    it, `result` and `values` its probe run (outputs as plain arrays)."""
    load = result["load"]
    return {
        "schema": FINGERPRINT_SCHEMA,
        "schema_version": FINGERPRINT_SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {
            "name": os.path.basename(path),
            "sha256": _sha256(path),
            "size": os.path.getsize(path),
            "saved_by_keras": load["saved_by_keras"],
            "loaded_with_keras": load["keras_version"],
        },
        "writer": dict((k, v) for k, v in writer.items() if k not in ("pid", "protocol")),
        "probes": {
            "algorithm": result["algorithm"],
            "digest": result["digest"],
            "inputs": result["probes"],
        },
        "outputs": [
            {
                "name": name,
                "dtype": str(array.dtype),
                "shape": list(array.shape),
                "values": array.tolist(),
            }
            for name, array in zip(result["output_names"], values)  # noqa: B905 (Python 3.8)
        ],
    }


def fingerprint_text(document):
    """One top-level key per line: readable in a diff, compact for long output arrays."""
    lines = ["  %s: %s" % (json.dumps(key), json.dumps(value)) for key, value in document.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_fingerprint(model_path, tf=None):
    """Write `<model>.fingerprint.json` beside the model: this environment's outputs on
    tfbridge's probes (the model loaded without compiling). Returns the fingerprint's path."""
    path = os.path.abspath(os.fspath(model_path))
    result = Worker(tf).fingerprint(path)
    load = result["load"]
    if not load["ok"]:
        raise ValueError(
            "%s does not load back: %s: %s" % (path, load["error_type"], load["error_message"])
        )
    if result["error"]:
        raise ValueError("%s cannot predict on probes: %s" % (path, result["error"]["message"]))
    target = path + FINGERPRINT_SUFFIX
    _write_atomically(target, result["fingerprint"])
    return target


def _write_atomically(target, text):
    """Beside the target under tfbridge's temporary name, then renamed over it."""
    directory, name = os.path.split(target)
    temporary = os.path.join(directory, ".%s.%d.tmp" % (name, os.getpid()))
    try:
        with io.open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _sha256(path):
    digest = hashlib.sha256()
    with io.open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- serving


def _path_of(request):
    """The request's model path, refused unless a regular file: h5py would block on a FIFO."""
    path = request.get("path")
    if not path:
        raise RequestError("the request names no model path")
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise RequestError("cannot read %s: %s" % (path, error.strerror or error)) from None
    if not stat.S_ISREG(mode):
        raise RequestError("%s is not a regular file" % path)
    if not os.access(path, os.R_OK):
        raise RequestError("%s is not readable (permission denied)" % path)
    return path


def _send(writer, message):
    writer.write(json.dumps(message) + "\n")
    writer.flush()


def _serve(reader, writer, worker):
    """Answer requests until end of input (returns False) or a shutdown request (returns True)."""
    for line in reader:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            if request.get("op") == "shutdown":
                _send(writer, {"id": request_id, "ok": True, "result": {}})
                return True
            response = {"id": request_id, "ok": True, "result": worker.handle(request)}
        except Exception as error:
            traceback.print_exc()
            response = {"id": request_id, "ok": False, "error": _error_payload(error)}
        _send(writer, response)
    return False


def _listen(path):
    """Bind the socket beside its final name and rename it into place: callers never connect to
    a half-set-up socket, and its mode is 0600 from the start (umask)."""
    temporary = "%s.%d" % (path, os.getpid())
    if os.path.lexists(temporary):
        os.unlink(temporary)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        server.bind(temporary)
    finally:
        os.umask(old_umask)
    server.listen(16)
    os.rename(temporary, path)
    return server, os.stat(path).st_ino


def _remove_own_socket(path, inode):
    """Remove the socket (and its heartbeat) unless another worker has already replaced it."""
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
            os.unlink(path + ".alive")
    except OSError:
        pass


class _Stopping(Exception):
    """SIGTERM while no caller is being served."""


class _Lifecycle(object):
    """SIGTERM stops the worker gently: the socket goes at once (new callers start a new
    worker), the caller being served is finished, then the worker exits."""

    def __init__(self, path, inode):
        self.path = path
        self.inode = inode
        self.busy = False
        self.stopping = False

    def on_sigterm(self, signum, frame):
        self.stopping = True
        _remove_own_socket(self.path, self.inode)
        if not self.busy:
            raise _Stopping()


def _serve_connections(server, idle_seconds, worker, hello, lifecycle):
    server.settimeout(idle_seconds)
    while not lifecycle.stopping:
        try:
            connection, _ = server.accept()
        except socket.timeout:
            return
        lifecycle.busy = True
        connection.settimeout(None)
        reader = connection.makefile("r", encoding="utf-8", newline="\n")
        writer = connection.makefile("w", encoding="utf-8", newline="\n")
        try:
            _send(writer, hello)
            if _serve(reader, writer, worker):
                return
        except (OSError, ValueError):
            pass  # the caller went away mid-conversation; wait for the next one
        finally:
            for stream in (reader, writer, connection):
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
            lifecycle.busy = False


def _heartbeat(path, inode):
    """Touch SOCKET.alive while this worker owns the socket (see the module's docstring)."""
    alive = path + ".alive"
    while True:
        try:
            if os.stat(path).st_ino != inode:
                return
            with io.open(alive, "a"):
                pass
            os.utime(alive, None)
        except OSError:
            return
        time.sleep(HEARTBEAT_SECONDS)


def _option(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def _start_tensorflow(lazy=False):
    """(TensorFlow or None when lazy, the hello), or (None, the fatal message)."""
    if lazy:
        return None, _hello()
    try:
        tf = _import_tensorflow()
        return tf, _hello(tf)
    except Exception as error:
        traceback.print_exc()
        return None, {"event": "fatal", "error": _error_payload(error)}


def serve_socket(path, idle_seconds):
    tf, hello = _start_tensorflow()
    if tf is None:
        sys.stderr.write(json.dumps(hello) + "\n")  # the caller reads it from the log
        return 3
    server, inode = _listen(path)
    lifecycle = _Lifecycle(path, inode)
    signal.signal(signal.SIGTERM, lifecycle.on_sigterm)
    heartbeat = threading.Thread(target=_heartbeat, args=(path, inode))
    heartbeat.daemon = True
    heartbeat.start()
    try:
        _serve_connections(server, idle_seconds, Worker(tf), hello, lifecycle)
    except _Stopping:
        pass
    finally:
        _remove_own_socket(path, inode)
        server.close()
    return 0


def main():
    _forget_own_directory()
    listen = _option("--listen")
    if listen is not None:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the shipped source was its only input
        os.close(devnull)
        return serve_socket(listen, float(_option("--idle", "900")))
    reader, writer = _claim_protocol_streams()
    lazy = "--lazy" in sys.argv
    tf, hello = _start_tensorflow(lazy)
    _send(writer, hello)
    if tf is None and not lazy:
        return 3
    _serve(reader, writer, Worker(tf))
    return 0


if __name__ == "__main__":
    sys.exit(main())
