"""Structural sanity of saved model configs: real hostile files (tests/reliability/hostile.py)
and every real fixture, read the way static verify reads them (attributes and weight shapes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.reliability import hostile
from tfbridge.keras29.graph import (
    MAX_NESTING,
    StructureProblem,
    input_shape_problem,
    structure_problems,
)
from tfbridge.verify.h5file import SavedFile, read_saved_file

MODEL_FIXTURES = sorted(
    path for path in hostile.FIXTURES.rglob("*.h5") if read_saved_file(path).kind == "model_h5"
)


def _read(path: Path) -> SavedFile:
    saved = read_saved_file(path)
    assert saved.kind == "model_h5", saved.detail
    return saved


def _problems_of(builder: hostile.Builder, directory: Path) -> list[StructureProblem]:
    saved = _read(builder(directory))
    return structure_problems(saved.model_config, saved.layer_weights)


def _only(problems: list[StructureProblem]) -> StructureProblem:
    assert len(problems) == 1, problems
    return problems[0]


@pytest.mark.parametrize(
    "path", MODEL_FIXTURES, ids=lambda path: str(path.relative_to(hostile.FIXTURES))
)
def test_real_fixture_has_no_structural_problem(path: Path) -> None:
    saved = _read(path)
    assert structure_problems(saved.model_config, saved.layer_weights) == []


def test_every_model_fixture_is_checked() -> None:
    # Fixtures of every saver: Keras 2.9-2.15, tf-keras 2.17 and Keras 3, with nested models.
    assert len(MODEL_FIXTURES) >= 80
    assert any("nested" in path.name for path in MODEL_FIXTURES)


def test_functional_cycle_is_found(tmp_path: Path) -> None:
    problem = _only(_problems_of(hostile.functional_cycle, tmp_path))
    assert problem.path == "model_config.config.layers"
    assert "'concatenate', 'dense'" in problem.message
    assert "loops forever" in problem.message


def test_dangling_inbound_layer_is_found(tmp_path: Path) -> None:
    problem = _only(_problems_of(hostile.functional_dangling_inbound, tmp_path))
    assert problem.path.startswith("model_config.config.layers[")
    assert problem.path.endswith("].inbound_nodes")
    assert "'no_such_layer'" in problem.message
    assert "tfbridge refuses it" in problem.message


def test_garbage_nodes_and_endpoints_are_found(tmp_path: Path) -> None:
    problems = _problems_of(hostile.functional_garbage_nodes, tmp_path)
    paths = [problem.path for problem in problems]
    assert "model_config.config.output_layers" in paths
    garbage = [problem for problem in problems if problem.path.endswith("].inbound_nodes")]
    # ["dense", "x"] reads as one bare entry (as 2.9 reads a TFOpLambda's node): node 'x'.
    (problem,) = garbage
    assert "layer 'concatenate'" in problem.message and "node 'x'" in problem.message


def test_node_index_past_the_layers_nodes_is_found(tmp_path: Path) -> None:
    def point_past(config: dict[str, Any]) -> None:
        config["output_layers"] = [["dense_1", 3, 0]]

    saved = _read(hostile._functional_with(tmp_path, point_past))
    problem = _only(structure_problems(saved.model_config))
    assert problem.path == "model_config.config.output_layers"
    assert "node 3 of layer 'dense_1', which has 1 node(s)" in problem.message


def test_layer_applied_to_its_own_output_is_no_cycle() -> None:
    """A shared layer called twice in a chain: node 1 waits on node 0, not on itself."""
    config = _functional(
        [
            _input("x"),
            _dense("square", [[["x", 0, 0, {}]], [["square", 0, 0, {}]]]),
        ],
        outputs=[["square", 1, 0]],
    )
    assert structure_problems(config) == []


def test_nodes_waiting_on_each_other_are_a_cycle() -> None:
    config = _functional(
        [
            _input("x"),
            _dense("a", [[["b", 0, 0, {}]]]),
            _dense("b", [[["a", 0, 0, {}]]]),
            _dense("c", [[["x", 0, 0, {}]]]),
        ],
        outputs=[["c", 0, 0]],
    )
    problem = _only(structure_problems(config))
    assert "'a', 'b'" in problem.message
    assert "'c'" not in problem.message


def test_huge_input_shape_is_found(tmp_path: Path) -> None:
    problem = _only(_problems_of(hostile.huge_input_shape, tmp_path))
    assert problem.path == "model_config.config.layers[0].config.batch_input_shape"
    assert "1,000,000,000,000 elements per sample" in problem.message


def test_negative_input_shape_is_found(tmp_path: Path) -> None:
    problem = _only(_problems_of(hostile.negative_input_shape, tmp_path))
    assert problem.path == "model_config.config.layers[0].config.batch_input_shape"
    assert "dimension -28" in problem.message


@pytest.mark.parametrize(
    ("shape", "fine"),
    [
        ([None, 28, 28, 1], True),
        ([None, None], True),
        ([32, 10_000, 10_000], True),
        ([None, 10_001, 10_000], False),
        ([None, 0], False),
        ([None, 2.5], False),
        ([None, True], False),
        ("28,28", False),
    ],
)
def test_input_shape_bounds(shape: Any, fine: bool) -> None:
    assert (input_shape_problem(shape) == "") is fine


def test_nested_sequential_deep_is_refused_at_the_bound(tmp_path: Path) -> None:
    nesting, count = _problems_of(hostile.nested_sequential_deep, tmp_path)
    assert nesting.path == "model_config" + ".config.layers[0]" * MAX_NESTING
    assert f"more than {MAX_NESTING} deep" in nesting.message
    # Also true: the outer Sequential has one layer, the file stores two layers' weights.
    assert "at most 1 layers with weights but the file stores weights for 2" in count.message


def test_nesting_at_the_bound_is_accepted() -> None:
    inner = _sequential([_input("x", key="batch_input_shape"), _dense("d", None)])
    for depth in range(MAX_NESTING - 1):
        inner = _sequential([inner], name=f"s{depth}")
    assert structure_problems(inner) == []
    assert len(structure_problems(_sequential([inner], name="one_more"))) == 1


def test_nesting_far_beyond_recursion_limits_is_walked() -> None:
    inner = _dense("d", None)
    for depth in range(20_000):
        inner = {"class_name": "Bidirectional", "config": {"name": f"b{depth}", "layer": inner}}
    assert len(structure_problems(inner)) == 1


def test_huge_dense_units_disagree_with_the_kernel(tmp_path: Path) -> None:
    problems = _problems_of(hostile.huge_dense_units, tmp_path)
    size, *mismatches = problems
    assert size.path == "model_config.config.layers[3].config.units"
    assert "`units` is 1,000,000,000,000 (over 100,000,000)" in size.message
    assert mismatches
    assert all("units=1,000,000,000,000" in problem.message for problem in mismatches)
    assert {problem.path for problem in mismatches} == {"model_config.config.layers[3]"}


def test_huge_dense_units_are_found_without_the_weights(tmp_path: Path) -> None:
    saved = _read(hostile.huge_dense_units(tmp_path))
    problem = _only(structure_problems(saved.model_config))
    assert problem.path == "model_config.config.layers[3].config.units"


@pytest.mark.parametrize("units", [0, -3, 2.5, "10", True])
def test_units_that_are_no_positive_int_are_found(units: Any) -> None:
    config = _sequential([_input("x"), _dense("d", None, units=units)])
    problem = _only(structure_problems(config))
    assert problem.path == "model_config.config.layers[1].config.units"
    assert f"`units` is {units!r}, not a positive integer" in problem.message


def test_weight_shape_mismatch_is_found(tmp_path: Path) -> None:
    problem = _only(_problems_of(hostile.weight_shape_mismatch, tmp_path))
    assert "weight `dense/kernel:0` has shape [3, 2]" in problem.message


def test_huge_layer_list_contradicts_the_stored_weights(tmp_path: Path) -> None:
    problem = _only(_problems_of(hostile.huge_layer_list, tmp_path))
    assert problem.path == "model_config.config.layers"
    assert "at least 8,002 layers with weights but the file stores weights for 2" in (
        problem.message
    )


def test_weights_given_as_name_shape_tuples() -> None:
    config = _sequential([_input("x", key="batch_input_shape"), _dense("d", None, units=4)])
    good = {"d": [("d/kernel:0", (3, 4)), ("d/bias:0", (4,))]}
    bad = {"d": [("d/kernel:0", (3, 5)), ("d/bias:0", (4,))]}
    assert structure_problems(config, good) == []
    assert "shape [3, 5]" in _only(structure_problems(config, bad)).message


def test_more_weight_groups_than_layers_is_found() -> None:
    config = _sequential([_input("x", key="batch_input_shape"), _dense("d", None, units=4)])
    weights = {"d": [("d/kernel:0", (3, 4))], "ghost": [("ghost/kernel:0", (4, 4))]}
    assert "at most 1 layers" in _only(structure_problems(config, weights)).message


def test_not_a_model_config_has_no_structure_to_judge() -> None:
    assert structure_problems([1, 2, 3]) == []
    assert structure_problems(json.loads("null")) == []


# ---- small configs, written as Keras 2.9 writes them -------------------------------------------


def _input(name: str, key: str = "batch_input_shape") -> dict[str, Any]:
    config = {"name": name, key: [None, 3], "dtype": "float32"}
    return {"class_name": "InputLayer", "name": name, "config": config, "inbound_nodes": []}


def _dense(name: str, inbound: list[Any] | None, units: Any = 3) -> dict[str, Any]:
    layer: dict[str, Any] = {"class_name": "Dense", "config": {"name": name, "units": units}}
    if inbound is not None:
        layer.update(name=name, inbound_nodes=inbound)
    return layer


def _functional(layers: list[dict[str, Any]], outputs: list[Any]) -> dict[str, Any]:
    config = {"name": "model", "layers": layers, "input_layers": [["x", 0, 0]]}
    return {"class_name": "Functional", "config": {**config, "output_layers": outputs}}


def _sequential(layers: list[dict[str, Any]], name: str = "seq") -> dict[str, Any]:
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}
