"""`tfbridge convert` on weights behind HDF5 links: a soft link loop, a dangling one, external
links (to a missing file, to a FIFO, as a layer's group): one error line naming the weight, exit
2, no output written, and an external link's file never opened."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import h5py

from tests.conftest import assert_one_line_error, run_tfbridge
from tests.reliability import hostile

TIMEOUT = 120  # seconds; opening the FIFO behind an external link would hang until then


def _convert(source: Path) -> str:
    """The error line; neither the output nor a temporary file is left behind."""
    before = sorted(source.parent.iterdir())
    done: subprocess.CompletedProcess[str] = run_tfbridge(
        "convert", source, "-o", source.with_name("out.h5"), "--no-parity", timeout=TIMEOUT
    )
    line = assert_one_line_error(done, 2)
    assert sorted(source.parent.iterdir()) == before
    return line


def _relink(path: Path, name: str, link: h5py.SoftLink | h5py.ExternalLink) -> Path:
    with h5py.File(path, "r+") as model:
        del model[name]
        model[name] = link
    return path


def test_soft_link_loop_is_refused_naming_the_weight(tmp_path: Path) -> None:
    line = _convert(hostile.weight_soft_link_loop(tmp_path))
    assert "the weight `dense/kernel:0` of layer `dense`" in line
    assert "leads nowhere (a loop or a dangling link)" in line
    assert "internal error" not in line


def test_dangling_soft_link_is_refused(tmp_path: Path) -> None:
    source = _relink(
        hostile._copy_good(tmp_path), hostile.KERNEL, h5py.SoftLink("/model_weights/nowhere")
    )
    line = _convert(source)
    assert "`dense/kernel:0` of layer `dense` is a link to /model_weights/nowhere" in line


def test_external_link_to_a_missing_file_is_refused(tmp_path: Path) -> None:
    line = _convert(hostile.weight_external_link(tmp_path))
    assert "is an external link to /nonexistent/elsewhere.h5:/kernel" in line


def test_external_link_to_a_fifo_is_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "elsewhere.h5"
    os.mkfifo(fifo)
    source = _relink(
        hostile._copy_good(tmp_path), hostile.KERNEL, h5py.ExternalLink(str(fifo), "/kernel")
    )
    line = _convert(source)
    assert f"is an external link to {fifo}:/kernel" in line


def test_layer_group_behind_an_external_link_is_refused(tmp_path: Path) -> None:
    source = _relink(
        hostile._copy_good(tmp_path),
        "model_weights/dense",
        h5py.ExternalLink(str(hostile.GOOD_MODEL), "/model_weights/dense"),
    )
    line = _convert(source)
    assert "the group of layer `dense` is an external link to" in line


def test_weight_structure_feeds_the_structural_check(tmp_path: Path) -> None:
    """The shapes convert reads agree with verify's reader, so both get the same verdicts."""
    from tfbridge.convert.weights import weight_structure
    from tfbridge.keras29.graph import structure_problems
    from tfbridge.verify.h5file import read_saved_file

    for good in (hostile.GOOD_MODEL, hostile.FUNCTIONAL_MODEL):
        with h5py.File(good, "r") as model:
            structure = weight_structure(model)
        saved = read_saved_file(good)
        assert structure == {
            layer: [(weight.name, weight.shape) for weight in weights]
            for layer, weights in saved.layer_weights.items()
        }
        assert structure_problems(saved.model_config, structure) == []
    mismatch = hostile.weight_shape_mismatch(tmp_path)
    with h5py.File(mismatch, "r") as model:
        problems = structure_problems(
            read_saved_file(mismatch).model_config, weight_structure(model)
        )
    assert [problem.path for problem in problems] == ["model_config.config.layers[2]"]


def test_non_utf8_file_name_is_printed_escaped(tmp_path: Path) -> None:
    source = hostile.name_not_utf8(tmp_path)
    done = run_tfbridge("convert", source, "--no-parity", timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "wrote " in done.stdout and "model-\\xff\\xfe.tf29.h5" in done.stdout
    assert "\udcff" not in done.stdout
