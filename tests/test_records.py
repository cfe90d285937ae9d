"""Validated records: a value read from a file is the record or one line naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfbridge.config import load_config
from tfbridge.errors import TfbridgeError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[slots.q1]\nmodel = "q1.h5"\ninputshape = [28]\n',
            "`slots.q1.inputshape` is not a known key (known: input_shape, model, ",
        ),
        ("colour = 1\n", "`colour` is not a known key (known: slots, target)"),
        ("[target]\nport = 22\n", "`target.dest` is required"),
        ('[target]\ndest = "h:x"\nport = true\n', "`target.port` must be a port number"),
        ("[slots]\nq1 = 3\n", "`slots.q1` must be a table with at least `model"),
        ('[slots.q1]\nmodel = "q1.h5"\nremote_name = "a/b.h5"\n', "`slots.q1.remote_name` must"),
        ('[slots.q1]\nmodel = "q1.h5"\ninput_shape = []\n', "`slots.q1.input_shape` must list"),
        ('[target]\ndest = "h:x"\npython = " "\n', "`target.python` must be the exam interp"),
    ],
)
def test_a_config_record_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "tfbridge.toml").write_text(text)
    with pytest.raises(TfbridgeError) as caught:
        load_config(tmp_path)
    line = caught.value.one_line()
    assert line.startswith(f"{tmp_path / 'tfbridge.toml'}: ") and expected in line
    assert "\n" not in line


def test_a_valid_config_reads_into_its_records(tmp_path: Path) -> None:
    (tmp_path / "tfbridge.toml").write_text(
        '[target]\ndest = "me@h:exam"\nport = 2222\n'
        '[slots.q1]\nmodel = "m/q1.h5"\ninput_shape = [28, "None", -1]\n'
        'output_activation = " softmax "\n'
    )
    config = load_config(tmp_path)
    assert config.target is not None and (config.target.host, config.target.port) == ("h", 2222)
    slot = config.slots["q1"]
    assert (slot.remote_dir, slot.remote_name, slot.model) == ("q1", "", tmp_path / "m" / "q1.h5")
    assert slot.contract.input_shape == (28, None, None)
    assert slot.contract.output_activation == "softmax"
