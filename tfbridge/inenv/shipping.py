"""The one way tfbridge ships its in-environment module (worker.py) to a Python: its source over
stdin to `python -c BOOTSTRAP`, locally and over SSH alike, so nothing needs installing there.

The bootstrap reads "<length> <file name>\\n<source>" from fd 0 without buffering past it (the
worker then reads its requests from the same fd) and runs the source as __main__. It must stay
Python 3.8 compatible and short: it travels on the command line.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

WORKER_SCRIPT = Path(__file__).resolve().with_name("worker.py")
# The first line names the process in `ps` and lets tfbridge tell its workers from other pythons.
BOOTSTRAP = """\
# tfbridge-worker
import os, sys
if sys.path and sys.path[0] == '':
    del sys.path[0]
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
size, name = header.decode('utf-8').rstrip('\\n').split(' ', 1)
exec(compile(take(int(size)), name, 'exec'), {'__name__': '__main__', '__file__': name})
"""
MARKER = b"# tfbridge-worker"


def launch_argv(python: str, *options: str) -> list[str]:
    """The command that starts a worker under `python`; `shipment()` must follow on its stdin."""
    return [python, "-c", BOOTSTRAP, *options]


@cache
def shipment() -> bytes:
    source = WORKER_SCRIPT.read_bytes()
    return b"%d %s\n" % (len(source), str(WORKER_SCRIPT).encode("utf-8")) + source
