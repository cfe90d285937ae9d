"""tfbridge runtime worker: loads Keras models in one TensorFlow environment and predicts on probes.

Self-contained on purpose: it runs as `python worker.py` inside the exam runtime (Python 3.8,
TensorFlow 2.9) or any other TensorFlow environment (2.9 .. 2.17, Keras 2, Keras 3, tf-keras), so it
uses only the standard library, tensorflow, numpy and Python 3.8 syntax.

Protocol (JSON lines): requests arrive on the original stdin, responses leave on the original
stdout. Both are moved to private file descriptors at start-up; fd 0 then reads /dev/null and fd 1
points at stderr, so whatever TensorFlow or a model's own code prints cannot corrupt the protocol.
The first line the worker sends is {"event": "hello", ...} once TensorFlow is imported, or
{"event": "fatal", "error": {...}} when it cannot be. Each request {"id", "op", ...} gets exactly
one response {"id", "ok": true, "result": {...}} or {"id", "ok": false, "error": {...}}.

`worker.py --listen SOCKET --idle SECONDS` is the warm worker: the same protocol over a Unix socket,
one connection at a time (so concurrent callers take turns), the hello line opening each one. A
"shutdown" request ends the worker; closing the connection only ends the conversation. With no
connection for SECONDS it exits, removing its socket.
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
import traceback

PROTOCOL_VERSION = 1
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


def _keras_version(keras):
    version = getattr(keras, "__version__", None)
    if version:
        return str(version)
    try:
        import keras as standalone

        return str(standalone.__version__)
    except Exception:
        return None


def _keras_package(keras):
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


def _hello(tf, keras):
    import numpy

    return {
        "event": "hello",
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "python_version": platform.python_version(),
        "tf_version": str(tf.__version__),
        "keras_version": _keras_version(keras),
        "keras_package": _keras_package(keras),
        "numpy_version": str(numpy.__version__),
        "platform": sys.platform,
        "machine": platform.machine(),
        "executable": sys.executable,
    }


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
        self.primary_major = _major(_keras_version(keras))
        self._legacy = None

    def for_file(self, path):
        if self.primary_major is None or self.primary_major < 3:
            return self.primary
        if _major(_saved_keras_version(path)) != 2:
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


def _saved_keras_version(path):
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


def _all_layers(model):
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
        anywhere = [b for b in map(_index_bound, _all_layers(model)) if b]
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


def _encode_array(value):
    import numpy

    array = numpy.asarray(value)
    if array.dtype.kind in ("O", "S"):
        array = numpy.array(
            [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in array.reshape(-1)
            ]
        ).reshape(array.shape)
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
    payload["keras_version"] = _keras_version(keras) if keras is not None else None
    payload["saved_by_keras"] = _saved_keras_version(path)
    if error is not None:
        payload.update(error_type=error.error_type, error_message=error.message)
    return payload


class Worker(object):
    def __init__(self, tf, keras):
        self.tf = tf
        self.keras = keras
        self.slot = ModelSlot(Kerases(keras))

    def handle(self, request):
        op = request.get("op")
        if op == "info":
            return self.info()
        if op == "load":
            return self.load(_path_of(request), request.get("compile", True))
        if op == "predict_probes":
            return self.predict_probes(_path_of(request), request.get("compile", True))
        raise RequestError("unknown op %r" % (op,))

    def info(self):
        result = _hello(self.tf, self.keras)
        del result["event"]
        result["devices"] = _list_devices(self.tf)
        return result

    def load(self, path, compile_model):
        try:
            self.slot.get(path, compile_model)
        except ModelLoadError as error:
            return _load_payload(path, self.slot.keras, error)
        return _load_payload(path, self.slot.keras)

    def predict_probes(self, path, compile_model):
        result = {
            "load": self.load(path, compile_model),
            "algorithm": PROBE_ALGORITHM,
            "probes": [],
            "digest": None,
            "output_names": [],
            "outputs": [],
            "error": None,
        }
        if not result["load"]["ok"]:
            return result
        model = self.slot.get(path, compile_model)
        try:
            specs = _probe_specs(model)
            result["probes"] = specs
            arrays, names, values = _predict(self.tf, model, specs)
            outputs = [_encode_array(value) for value in values]
        except Exception as error:
            result["error"] = _error_payload(error)
            return result
        result["digest"] = _probe_digest(specs, arrays)
        result["output_names"] = names
        result["outputs"] = outputs
        if not all(_all_finite(value) for value in values):
            result["nonfinite_layer"] = _first_nonfinite_layer(model)
        return result


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
    """Remove the socket unless another worker has already replaced it."""
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
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


def _option(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def _start_tensorflow():
    """(tf, tf.keras, the hello) once TensorFlow imports, else (None, None, the fatal message)."""
    try:
        tf = _import_tensorflow()
        return tf, tf.keras, _hello(tf, tf.keras)
    except Exception as error:
        traceback.print_exc()
        return None, None, {"event": "fatal", "error": _error_payload(error)}


def serve_socket(path, idle_seconds):
    tf, keras, hello = _start_tensorflow()
    if tf is None:
        sys.stderr.write(json.dumps(hello) + "\n")  # the caller reads it from the log
        return 3
    server, inode = _listen(path)
    lifecycle = _Lifecycle(path, inode)
    signal.signal(signal.SIGTERM, lifecycle.on_sigterm)
    try:
        _serve_connections(server, idle_seconds, Worker(tf, keras), hello, lifecycle)
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
        return serve_socket(listen, float(_option("--idle", "900")))
    reader, writer = _claim_protocol_streams()
    tf, keras, hello = _start_tensorflow()
    _send(writer, hello)
    if tf is None:
        return 3
    _serve(reader, writer, Worker(tf, keras))
    return 0


if __name__ == "__main__":
    sys.exit(main())
