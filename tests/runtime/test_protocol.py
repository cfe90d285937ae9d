"""The one in-environment module and its one client: the protocol's schema, the probe request,
and the shipping of the worker's source over stdin (the way it reaches the grading machine)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tfbridge.errors import EXIT_ENVIRONMENT, EnvironmentFailure, TfbridgeError
from tfbridge.inenv import probe_environment, protocol, worker
from tfbridge.runtime.client import RuntimeWorker
from tfbridge.sync.local import LocalTransport
from tfbridge.sync.transport import Transport

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mnist_dense.h5"


def test_the_worker_and_the_client_speak_one_protocol_version() -> None:
    assert worker.PROTOCOL_VERSION == protocol.PROTOCOL_VERSION


def test_a_hello_of_another_shape_is_refused_naming_the_key() -> None:
    hello = {
        "event": "hello",
        "protocol": 2,
        "pid": 1,
        "python_version": "3.8.18",
        "tf_version": "2.9.0",
        "keras_version": "2.9.0",
        "keras_package": "keras",
        "numpy_version": "1.22.4",
        "platform": "linux",
        "machine": "x86_64",
        "executable": "/env/bin/python",
    }
    assert protocol.decode_greeting(json.dumps(hello).encode()).pid == 1
    with pytest.raises(ValueError, match="unknown field `gpu`"):
        protocol.decode_greeting(json.dumps({**hello, "gpu": True}).encode())
    del hello["executable"]
    with pytest.raises(ValueError, match="missing required field `executable`"):
        protocol.decode_greeting(json.dumps(hello).encode())


@pytest.mark.runtime
def test_probe_answers_without_tensorflow_unless_devices_are_asked(exam_python: Path) -> None:
    began = time.monotonic()
    probe = probe_environment(
        exam_python,
        {"numpy": "numpy", "PIL": "Pillow", "no_such_module": "no-such-dist"},
        distributions=["tensorflow", "h5py", "tensorflow-metal"],
    )
    seconds = time.monotonic() - began

    assert probe.python_version.startswith("3.8.")
    assert probe.tf_version is None and probe.devices is None  # TensorFlow was not imported
    assert probe.distributions == {
        "tensorflow": "2.9.0",
        "h5py": "3.11.0",
        "tensorflow-metal": None,
    }
    assert probe.imports["numpy"].ok and probe.imports["numpy"].version == "1.22.4"
    assert probe.imports["PIL"].version == "9.1.1"
    missing = probe.imports["no_such_module"]
    assert not missing.ok and "ModuleNotFoundError" in (missing.error or "")
    print(f"probe without TensorFlow: {seconds:.2f} s")

    with_devices = probe_environment(exam_python, {}, devices=True)
    assert with_devices.tf_version == "2.9.0"
    assert [d.device_type for d in with_devices.devices or []] == ["CPU"]


@pytest.mark.runtime
def test_the_worker_shipped_over_a_transport_is_the_same_client(exam_python: Path) -> None:
    """What `sync --remote-verify` does over SSH, through the local transport's conversation."""
    transport: Transport = LocalTransport(str(EXAMPLE.parent))
    with RuntimeWorker(str(exam_python), transport=transport) as far:
        assert far.hello is not None and far.hello.tf_version == "2.9.0"
        remote = far.predict_probes(str(EXAMPLE))
    with RuntimeWorker(exam_python) as near:
        local = near.predict_probes(EXAMPLE)
    assert remote.ok and remote.digest == local.digest
    assert (remote.outputs[0] == local.outputs[0]).all()


def test_an_interpreter_missing_on_the_far_side_is_one_environment_failure(tmp_path: Path) -> None:
    transport: Transport = LocalTransport(str(tmp_path))
    with pytest.raises(TfbridgeError, match=r"cannot run .*no-python") as error:
        RuntimeWorker(str(tmp_path / "no-python"), transport=transport).start()
    assert error.value.exit_code == EXIT_ENVIRONMENT


def test_a_python_without_tensorflow_over_a_transport_says_so() -> None:
    transport: Transport = LocalTransport(str(Path.cwd()))
    with pytest.raises(EnvironmentFailure, match="TensorFlow does not import in "):
        RuntimeWorker(sys.executable, transport=transport).start()
