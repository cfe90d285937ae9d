"""Validated records: a value read from a file is the record or one line naming the file and key."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.conftest import run_tfbridge
from tfbridge.config import load_config
from tfbridge.errors import TfbridgeError
from tfbridge.sync import ledger
from tfbridge.train.runs import ModelOutcome, RunRecord, append_run, read_runs, runs_file


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


def _entry(slot: str, verdict: str = "pass") -> ledger.LedgerEntry:
    return ledger.LedgerEntry(
        time="2026-12-02T10:00:00+00:00",
        action="sync",
        slot=slot,
        local_path=f"/p/{slot}.h5",
        remote_path=f"{slot}/{slot}.h5",
        sha256="a" * 64,
        verdict=verdict,
        target="/exam",
    )


def test_the_ledger_reads_back_what_it_wrote(tmp_path: Path) -> None:
    ledger.append(tmp_path, _entry("q1"))
    ledger.append(tmp_path, _entry("q2", "fail"))
    assert ledger.read(tmp_path) == [_entry("q1"), _entry("q2", "fail")]
    first = (tmp_path / "ledger.jsonl").read_text().splitlines()[0]
    assert list(json.loads(first)) == sorted(json.loads(first))  # keys sorted, as before


@pytest.mark.parametrize(
    "damage",
    [
        b'{"slot": "q9"}',  # keys missing
        b'{"slot": 9}',
        b"[1, 2]",
        b"\xff\xfe not text",
        b'{"time": "t", "acti',  # cut short
        b"[" * 50_000,
    ],
)
def test_a_damaged_ledger_line_is_unknown_never_a_pass(tmp_path: Path, damage: bytes) -> None:
    ledger.append(tmp_path, _entry("q1"))
    good = (tmp_path / "ledger.jsonl").read_bytes()
    (tmp_path / "ledger.jsonl").write_bytes(good + damage + b"\n" + good)
    assert ledger.read(tmp_path) == [_entry("q1"), _entry("q1")]


def test_a_ledger_line_with_a_key_nobody_knows_or_a_wrong_type_is_skipped(tmp_path: Path) -> None:
    valid = msgspec.to_builtins(_entry("q1"))
    lines = [{**valid, "colour": "red"}, {**valid, "verdict": 1}, {**valid, "action": "x"}, valid]
    (tmp_path / "ledger.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert ledger.read(tmp_path) == [_entry("q1")]


def test_a_run_record_with_an_unknown_key_names_the_line_and_key(tmp_path: Path) -> None:
    valid = {
        "started_at": "t",
        "script": "/p/train.py",
        "args": [],
        "profile": "exam",
        "python": "/py",
        "device": "CPU",
        "duration_seconds": 1,
        "exit_code": 0,
    }
    runs_file(tmp_path).write_text(
        json.dumps(valid) + "\n" + json.dumps({**valid, "models": [{"path": "m.h5"}]}) + "\n"
    )
    with pytest.raises(TfbridgeError, match=r"runs\.jsonl:2 is not a run record \(`models\[0\]"):
        read_runs(tmp_path)
    runs_file(tmp_path).write_text(json.dumps({**valid, "gpu": "M1"}) + "\n")
    with pytest.raises(TfbridgeError, match=r"runs\.jsonl:1 .*`gpu` is not a known key"):
        read_runs(tmp_path)


def test_train_list_json_prints_the_recorded_runs(tmp_path: Path) -> None:
    (tmp_path / "tfbridge.toml").write_text("")
    record = RunRecord(
        started_at="2026-12-02T10:00:00+00:00",
        script="/p/train.py",
        args=["--epochs", "1"],
        profile="exam",
        python="/py",
        device="CPU",
        duration_seconds=2.5,
        exit_code=0,
        models=[ModelOutcome("/p/m.h5", "pass", "/p/m.h5.fingerprint.json")],
    )
    append_run(record, tmp_path / ".tfbridge")
    done = run_tfbridge("train", "list", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run,) = json.loads(done.stdout)["runs"]
    assert run["models"] == [msgspec.to_builtins(record.models[0])]
    assert msgspec.convert(run, RunRecord) == record
