"""tfbridge's helpers for training scripts: save models the TensorFlow 2.9 exam machine loads.

`tfbridge train` puts this folder on PYTHONPATH, so a script does `import tfbridge_keras` in any
training env without tfbridge installed there. Python 3.8 syntax; stdlib, TensorFlow, numpy, h5py.

    from tfbridge_keras import ExamCheckpoint, exam_optimizer
    model.compile(optimizer=exam_optimizer("adam", learning_rate=1e-3), loss="mse")
    model.fit(x, y, validation_split=0.2, callbacks=[ExamCheckpoint("model.h5")])

The fingerprint is written by tfbridge's in-environment module (`tfbridge/inenv/worker.py`,
imported by path), the same code that writes it for `tfbridge fingerprint`, so `tfbridge verify`
compares the exam's outputs with it.
"""

import importlib.util
import os
import sys
import warnings

import tensorflow as tf

WORKER_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "inenv", "worker.py"
)
EXAM_OPTIMIZERS = {
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamax": "Adamax",
    "ftrl": "Ftrl",
    "nadam": "Nadam",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
}
_MAXIMIZED_METRICS = ("acc", "accuracy", "auc", "precision", "recall", "f1")
_worker_module = None


def exam_optimizer(name="adam", **kwargs):
    """An optimizer whose saved config TensorFlow 2.9 reads back (compile=True).

    On TF >= 2.11 that is `tf.keras.optimizers.legacy.<Name>` (also the fast one on Apple Silicon);
    on 2.9 and 2.10 the plain optimizers already are the legacy kind.
    """
    _require_keras2()
    class_name = EXAM_OPTIMIZERS.get(str(name).lower())
    if class_name is None:
        raise ValueError(
            "exam_optimizer: unknown optimizer %r; choose one of %s"
            % (name, ", ".join(sorted(EXAM_OPTIMIZERS)))
        )
    namespace = tf.keras.optimizers.legacy if _needs_legacy_namespace() else tf.keras.optimizers
    return getattr(namespace, class_name)(**kwargs)


class ExamCheckpoint(tf.keras.callbacks.Callback):
    """Keep the best model so far at `filepath` as an exam-loadable .h5; fingerprint it at the end.

    The file is replaced atomically, so a grader or `tfbridge sync` never sees half a model. When
    `monitor` is not among the epoch's logs (no validation data), "loss" is watched instead.
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto", fingerprint=True, verbose=1):
        super(ExamCheckpoint, self).__init__()
        self.filepath = os.fspath(filepath)
        if not self.filepath.endswith(".h5"):
            raise ValueError("ExamCheckpoint: the exam loads .h5 files; got %r" % self.filepath)
        if mode not in ("auto", "min", "max"):
            raise ValueError("ExamCheckpoint: mode must be auto, min or max; got %r" % (mode,))
        self.monitor = monitor
        self.mode = mode
        self.fingerprint = fingerprint
        self.verbose = verbose
        self.best = None
        self.best_epoch = None
        self.fingerprint_path = None

    def on_train_begin(self, logs=None):
        _require_keras2()
        _require_exam_optimizer(self.model)
        _warn_about_lambda_bytecode(self.model)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs and "loss" in logs:
            warnings.warn(
                "ExamCheckpoint: %r is not logged (no validation data?); watching 'loss' instead"
                % self.monitor,
                stacklevel=2,
            )
            self.monitor = "loss"
        current = logs.get(self.monitor)
        if current is None or not self._improves(float(current)):
            return
        self.best, self.best_epoch = float(current), epoch + 1
        save_exam_h5(self.model, self.filepath)
        if self.verbose:
            print(
                "ExamCheckpoint: epoch %d %s=%.5g, saved %s"
                % (self.best_epoch, self.monitor, self.best, self.filepath)
            )

    def on_train_end(self, logs=None):
        if self.fingerprint and self.best_epoch is not None:
            self.fingerprint_path = write_fingerprint(self.filepath)
            if self.verbose:
                print("ExamCheckpoint: fingerprint %s" % self.fingerprint_path)

    def _improves(self, value):
        if self.best is None:
            return True
        if self._maximizes():
            return value > self.best
        return value < self.best

    def _maximizes(self):
        if self.mode != "auto":
            return self.mode == "max"
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        return name in _MAXIMIZED_METRICS or name.endswith("accuracy")


def save_exam_h5(model, filepath):
    """Save `model` in the legacy HDF5 format TF 2.9 reads, replacing `filepath` atomically."""
    _require_keras2()
    _require_exam_optimizer(model)
    partial = filepath + ".partial"
    model.save(partial, save_format="h5")
    os.replace(partial, filepath)
    return filepath


def write_fingerprint(model_path):
    """Write `<model>.fingerprint.json`: this env's outputs on tfbridge's probes."""
    return _runtime_worker().write_fingerprint(model_path, tf)


def _runtime_worker():
    global _worker_module
    if _worker_module is None:
        spec = importlib.util.spec_from_file_location("tfbridge_runtime_worker", WORKER_FILE)
        if spec is None or spec.loader is None or not os.path.isfile(WORKER_FILE):
            raise ImportError("tfbridge's runtime worker is missing at %s" % WORKER_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _worker_module = module
    return _worker_module


def _tf_minor():
    parts = tf.__version__.split(".")
    return int(parts[0]), int(parts[1])


def _needs_legacy_namespace():
    return _tf_minor() >= (2, 11)


def _require_keras2():
    worker_module = _runtime_worker()
    package = worker_module.keras_package(tf.keras)
    version = worker_module.keras_version(tf.keras) or ""
    if package == "keras" and version.startswith("3."):
        raise RuntimeError(
            "tf.keras is Keras %s here, and TensorFlow 2.9 loads no Keras 3 model; install "
            "tf-keras and set TF_USE_LEGACY_KERAS=1, or train with `tfbridge train` (metal/exam "
            "profiles carry Keras 2.9)" % version
        )


def _require_exam_optimizer(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not _needs_legacy_namespace():
        return
    if not isinstance(optimizer, tf.keras.optimizers.legacy.Optimizer):
        raise ValueError(
            "the model is compiled with %s, whose saved config TensorFlow 2.9 rejects "
            "('weight_decay is not a valid argument'); compile with "
            "tfbridge_keras.exam_optimizer(%r) instead"
            % (type(optimizer).__name__, type(optimizer).__name__.lower())
        )


def _warn_about_lambda_bytecode(model):
    if sys.version_info[:2] == (3, 8):
        return
    if any(type(layer).__name__ == "Lambda" for layer in _runtime_worker().all_layers(model)):
        warnings.warn(
            "the model has Lambda layers and this is Python %d.%d: their saved bytecode may not "
            "load in the exam's Python 3.8 ('bad marshal data'); train with Python 3.8"
            % sys.version_info[:2],
            stacklevel=2,
        )
