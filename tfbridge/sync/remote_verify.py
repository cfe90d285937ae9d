"""Run the runtime worker with the grading machine's exam interpreter, nothing installed there:
its source travels over stdin, then the requests follow on the same stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tfbridge.errors import EnvironmentFailure
from tfbridge.paths import PACKAGE_DIR
from tfbridge.sync.result import RemoteVerdict
from tfbridge.sync.transport import Transport

WORKER_SOURCE = PACKAGE_DIR / "runtime" / "worker.py"
TIMEOUT = 900.0

# Reads "<length>\n<source>" from fd 0 without buffering past it (the worker then reads its
# requests from the same fd), and runs the source as __main__. Python 3.8 compatible.
BOOTSTRAP = """\
import os
def take(n):
    data = b''
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            raise SystemExit('tfbridge: worker source cut short')
        data += chunk
    return data
header = b''
while not header.endswith(b'\\n'):
    header += take(1)
source = take(int(header))
exec(compile(source, 'tfbridge_worker.py', 'exec'),
     {'__name__': '__main__', '__file__': 'tfbridge_worker.py'})
"""


def remote_verify(
    transport: Transport, python: str, model: str, reference: Path | None = None
) -> RemoteVerdict:
    """Load `model` the way the grader does (compile=True) and predict on the worker's probes;
    with a fingerprint beside the local `reference` model, compare the outputs to it."""
    source = WORKER_SOURCE.read_bytes()
    requests = [
        {"id": 1, "op": "predict_probes", "path": model, "compile": True},
        {"id": 2, "op": "shutdown"},
    ]
    stdin = (
        b"%d\n" % len(source)
        + source
        + "".join(json.dumps(request) + "\n" for request in requests).encode()
    )
    result = transport.run([python, "-c", BOOTSTRAP], stdin=stdin, timeout=TIMEOUT)
    messages = _messages(result.stdout)
    hello = messages[0] if messages else {}
    if hello.get("event") != "hello":
        error = hello.get("error") or {}
        detail = error.get("message") or result.stderr.decode(errors="replace").strip()[-300:]
        raise EnvironmentFailure(
            f"the exam interpreter {transport.describe(python)} did not start TensorFlow: "
            f"{detail or f'exit status {result.exit_status}'}",
            hint="check [target] python points at the exam environment's python",
        )
    response = next((m for m in messages if m.get("id") == 1), None)
    verdict = _verdict(hello, response)
    if verdict.verdict == "pass" and reference is not None and response is not None:
        return _with_parity(verdict, response["result"], reference)
    return verdict


def _verdict(hello: dict[str, Any], response: dict[str, Any] | None) -> RemoteVerdict:
    tf_version = str(hello.get("tf_version"))
    where = f"TF {tf_version}, Python {hello.get('python_version')}"
    if response is None or not response.get("ok"):
        error = (response or {}).get("error") or {}
        return RemoteVerdict(
            "fail", f"worker error: {error.get('message', 'no answer')}", tf_version
        )
    result = response["result"]
    load = result.get("load", {})
    if not load.get("ok"):
        return RemoteVerdict(
            "fail",
            f"does not load with compile=True ({where}): "
            f"{load.get('error_type')}: {load.get('error_message')}",
            tf_version,
        )
    if result.get("error"):
        return RemoteVerdict(
            "fail",
            f"loads but cannot predict ({where}): {result['error'].get('message')}",
            tf_version,
        )
    return RemoteVerdict("pass", f"loads with compile=True and predicts ({where})", tf_version)


def _with_parity(verdict: RemoteVerdict, result: dict[str, Any], reference: Path) -> RemoteVerdict:
    from tfbridge.runtime import compare_with_fingerprint, read_fingerprint
    from tfbridge.runtime.client import probe_result_from_json

    fingerprint = read_fingerprint(reference)
    if fingerprint is None or fingerprint.stale:
        return verdict
    parity = compare_with_fingerprint(probe_result_from_json(result), fingerprint)
    if parity.ok:
        verdict.message += f"; outputs match the fingerprint (max abs diff {parity.max_abs:.2g})"
        return verdict
    verdict.verdict = "fail"
    verdict.message += f"; but outputs differ from the fingerprint: {parity.message}"
    return verdict


def _messages(stdout: bytes) -> list[dict[str, Any]]:
    messages = []
    for line in stdout.decode(errors="replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages
