"""Convert consults the semantics table for every serialized built-in, not only layers.

Real .h5 fixtures saved by Keras 2.15, with one setting edited in the training config: the table
says which new arguments sit at their no-op default (dropped as neutral) and which do not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tfbridge.convert import ConversionRefused, convert

SOURCE = FIXTURES / "models" / "keras-2.15" / "lr_schedule.h5"


def with_optimizer_edit(tmp_path: Path, edit: Any) -> Path:
    import h5py

    copy = tmp_path / "edited.h5"
    shutil.copyfile(SOURCE, copy)
    with h5py.File(copy, "r+") as handle:
        training = json.loads(handle.attrs["training_config"])
        edit(training["optimizer_config"]["config"])
        handle.attrs["training_config"] = json.dumps(training).encode()
    return copy


def cosine_decay(**extra: Any) -> Any:
    def edit(optimizer: dict[str, Any]) -> None:
        optimizer["learning_rate"] = {
            "class_name": "CosineDecay",
            "config": {"initial_learning_rate": 0.01, "decay_steps": 10, "alpha": 0.0, **extra},
        }

    return edit


def test_schedule_argument_at_its_new_default_is_a_neutral_drop(tmp_path: Path) -> None:
    source = with_optimizer_edit(tmp_path, cosine_decay(warmup_steps=0, warmup_target=None))
    report = convert(source, tmp_path / "out.h5", check_parity=False)
    dropped = {(item.name, item.effect) for item in report.dropped}
    assert {("warmup_steps", "none"), ("warmup_target", "none")} <= dropped


def test_schedule_argument_off_its_default_is_refused_by_name(tmp_path: Path) -> None:
    source = with_optimizer_edit(tmp_path, cosine_decay(warmup_steps=5, warmup_target=0.1))
    with pytest.raises(ConversionRefused, match="CosineDecay` sets `warmup_steps=5`"):
        convert(source, tmp_path / "out.h5", check_parity=False)
    assert not (tmp_path / "out.h5").exists()


def test_optimizer_defaults_from_the_table_are_neutral_a_live_setting_is_not(
    tmp_path: Path,
) -> None:
    report = convert(SOURCE, tmp_path / "plain.h5", check_parity=False)
    effects = {item.name: item.effect for item in report.dropped}
    assert effects["use_ema"] == effects["ema_momentum"] == effects["weight_decay"] == "none"

    def use_ema(optimizer: dict[str, Any]) -> None:
        optimizer["use_ema"] = True

    report = convert(with_optimizer_edit(tmp_path, use_ema), tmp_path / "o.h5", check_parity=False)
    assert [item.name for item in report.lossy] == ["use_ema"]
