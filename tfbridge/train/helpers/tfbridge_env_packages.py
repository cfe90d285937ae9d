"""Print, as one JSON object, the Python and TensorFlow-related package versions of this env.

Run by tfbridge's training preflight as `python tfbridge_env_packages.py` inside a training env:
stdlib only, Python 3.8 syntax, and no TensorFlow import (it must answer in well under a second).
"""

import json
import platform

try:
    from importlib import metadata
except ImportError:  # Python < 3.8
    metadata = None

DISTRIBUTIONS = (
    "tensorflow",
    "tensorflow-macos",
    "tensorflow-cpu",
    "tensorflow-intel",
    "tensorflow-metal",
    "keras",
    "tf-keras",
    "h5py",
    "numpy",
)


def installed_version(name):
    if metadata is None:
        return None
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main():
    report = {"python": platform.python_version(), "machine": platform.machine(), "packages": {}}
    for name in DISTRIBUTIONS:
        report["packages"][name] = installed_version(name)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
