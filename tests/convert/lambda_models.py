"""Real saver-written Lambda models with their code swapped, for convert's Lambda tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py

from tests.conftest import FIXTURES


def keras3_lambda_with(code: str, folder: Path) -> Path:
    """Keras 3.10's own timeseries model, its Lambda given `code` (base64 marshal, as Keras 3
    writes it)."""
    model = folder / "lambda.h5"
    shutil.copyfile(FIXTURES / "models" / "keras-3.10" / "timeseries_lambda.h5", model)
    with h5py.File(model, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "Lambda":
                layer["config"]["function"]["config"]["code"] = code
        handle.attrs["model_config"] = json.dumps(config).encode()
    return model
