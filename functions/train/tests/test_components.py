"""Members' component outputs: LINEAR's plain and time-of-day ridges, GBDT's direct and stacked paths, as extra graph
outputs with their validation predictions, stored in validation.npz and weighted one by one by the ENSEMBLE."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from flts_train.card import validation_npz
from flts_train.data import Series, Windows, make_windows, read_csv
from flts_train.members import parse_validation
from flts_train.models.base import FitJob, Fitted, Member, ValidationPredictions
from flts_train.models.ensemble_strategy import Ensemble
from flts_train.models.gbdt_strategy import Gbdt
from flts_train.models.linear_strategy import Linear
from flts_train.shape import Shape
from flts_train.spec import Params
from flts_train.train import onnx_session, train_model

POBLESEC = Path(__file__).resolve().parents[3] / "data" / "PobleSec.csv"
STEP = 120.0
PARAMS = Params(window=10, horizon=4, step_seconds=STEP, gap_tolerance_seconds=3 * STEP)


@pytest.fixture(scope="module")
def data() -> tuple[Series, Series]:
    s = read_csv(str(POBLESEC))
    return Series(s.times[:2500], s.columns, s.values[:2500]), Series(s.times[2500:3100], s.columns, s.values[2500:3100])


@pytest.fixture(scope="module")
def shape(data: tuple[Series, Series]) -> Shape:
    return Shape(PARAMS.window, PARAMS.horizon, data[0].columns, ("down", "up"), STEP)


def job(model_type: str, train: Series, shape: Shape, overrides: dict[str, object] | None = None) -> FitJob:
    w = make_windows(train, shape, 3 * STEP)
    return FitJob(model_type, shape, train, w, 7, "cpu", None, dict(overrides or {}))


@pytest.fixture(scope="module")
def linear(data: tuple[Series, Series], shape: Shape) -> Fitted:
    return Linear().fit(job("LINEAR", data[0], shape))


@pytest.fixture(scope="module")
def gbdt(data: tuple[Series, Series], shape: Shape) -> Fitted:
    return Gbdt().fit(job("GBDT", data[0], shape, {"preset": "cheap", "max_rounds": 30}))


def outputs(fitted: Fitted, w: Windows) -> dict[str, np.ndarray]:
    sess = onnx_session(fitted.onnx_bytes)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"x": w.x.astype(np.float32), "t": w.t}), strict=True))


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def test_linear_exports_its_plain_and_time_of_day_ridges(data: tuple[Series, Series], shape: Shape, linear: Fitted) -> None:
    test = make_windows(data[1], shape, 3 * STEP)
    out = outputs(linear, test)
    assert list(out) == ["y", "q", "y_plain", "y_tod"]
    v = linear.validation
    assert v is not None and v.component_names == ("y_plain", "y_tod")
    assert v.components is not None and v.components.shape == (2, *v.y.shape)
    plain_only = Linear().fit(job("LINEAR", data[0], shape, {"time_of_day": False}))  # the same plain columns, natively
    assert rel_err(out["y_plain"], plain_only.predict(test)) < 1e-4
    assert np.allclose(v.components[0], plain_only.validation.y)  # type: ignore[union-attr]
    # y takes each step and target from one of the two, as its validation predictions do
    tod_steps = linear.hyperparameters["time_of_day_steps"]
    for j, target in enumerate(shape.targets):
        from_tod = [np.allclose(v.y[:, h, j], v.components[1][:, h, j]) for h in range(shape.horizon)]
        assert sum(from_tod) == tod_steps[target]
        for h, tod in enumerate(from_tod):
            assert rel_err(out["y"][:, h, j], out["y_tod" if tod else "y_plain"][:, h, j]) < 1e-4


def test_gbdt_exports_its_direct_and_stacked_paths(data: tuple[Series, Series], shape: Shape, gbdt: Fitted) -> None:
    test = make_windows(data[1], shape, 3 * STEP)
    out = outputs(gbdt, test)
    assert list(out) == ["y", "q", "y_direct", "y_stack"]
    v = gbdt.validation
    assert v is not None and v.component_names == ("y_direct", "y_stack") and v.components is not None
    for got in (out, {"y": v.y, "y_direct": v.components[0], "y_stack": v.components[1]}):
        assert rel_err(got["y_direct"][:, 1:], got["y_stack"][:, 1:]) < 1e-5  # both the stacked model after step 1
        assert rel_err(got["y"][:, 1:], got["y_stack"][:, 1:]) < 1e-5
        blend = np.asarray([gbdt.hyperparameters["step1_direct_weight"][t] for t in shape.targets])
        g = [np.log1p(np.maximum(got[k][:, 0].astype(np.float64), 0.0)) for k in ("y", "y_direct", "y_stack")]
        assert np.allclose(g[0], blend * g[1] + (1 - blend) * g[2], atol=1e-4)
    horizon_one = Gbdt().fit(job("GBDT", data[0], dataclasses.replace(shape, horizon=1), {"preset": "cheap", "max_rounds": 10}))
    assert [o.name for o in onnx.load_from_string(horizon_one.onnx_bytes).graph.output] == ["y", "q"]
    assert horizon_one.validation is not None and horizon_one.validation.component_names == ()


def test_validation_npz_round_trips_components_and_reads_the_old_format(linear: Fitted) -> None:
    v = linear.validation
    assert v is not None and v.components is not None
    back = parse_validation(validation_npz(v), "s3://b/runs/r/validation.npz")
    assert back.component_names == v.component_names and np.array_equal(back.components, v.components)  # type: ignore[arg-type]
    old = parse_validation(validation_npz(dataclasses.replace(v, component_names=(), components=None)), "old")
    assert old.component_names == () and old.components is None and np.array_equal(old.y, v.y)

    def npz(**arrays: Any) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, y=v.y, start=np.int64(v.start), out_of_sample=np.bool_(True), **arrays)
        return buf.getvalue()

    with pytest.raises(ValueError, match="come together"):
        parse_validation(npz(components=v.components), "s3://x")
    with pytest.raises(ValueError, match=r"components must be a float array \[2, "):
        parse_validation(npz(components=v.components[:, :3], component_names=np.asarray(["a", "b"])), "s3://x")
    with pytest.raises(ValueError, match="component_names must be distinct"):
        parse_validation(npz(components=v.components, component_names=np.asarray(["a", "a"])), "s3://x")


def test_gbdt_with_a_forest_exports_it_as_a_step_one_component(data: tuple[Series, Series], shape: Shape, gbdt: Fitted) -> None:
    with_forest = Gbdt().fit(job("GBDT", data[0], shape, {"preset": "cheap", "max_rounds": 30, "forest_trees": 10}))
    test = make_windows(data[1], shape, 3 * STEP)
    out, without = outputs(with_forest, test), outputs(gbdt, test)
    assert list(out) == ["y", "q", "y_direct", "y_stack", "y_forest"]
    assert rel_err(out["y"], without["y"]) < 1e-6  # the forest is offered to an ENSEMBLE, not blended into y
    assert rel_err(out["y_forest"][:, 1:], out["y_stack"][:, 1:]) < 1e-5
    assert rel_err(out["y_forest"][:, 0], out["y_direct"][:, 0]) > 1e-3
    v = with_forest.validation
    assert v is not None and v.component_names == ("y_direct", "y_stack", "y_forest") and v.components is not None
    assert np.allclose(v.components[2][:, 1:], v.components[1][:, 1:])
    assert with_forest.hyperparameters["trees"]["forest_down"] == [10]


def member(name: str, fitted: Fitted, shape: Shape) -> Member:
    card = {"window": shape.window, "horizon": shape.horizon, "targets": list(shape.targets), "features": list(shape.features)}
    return Member(name, name.upper(), fitted.onnx_bytes, card, fitted.validation)


def test_the_ensemble_weights_every_component_and_keeps_parity(
    data: tuple[Series, Series], shape: Shape, linear: Fitted, gbdt: Fitted
) -> None:
    members = (member("linear", linear, shape), member("gbdt", gbdt, shape))
    outcome = train_model("ENSEMBLE", data[0], data[1], PARAMS, members=members)  # y and q parity with the members checked
    hp = outcome.fitted.hyperparameters
    assert hp["units"] == ["LINEAR:linear:y_plain", "LINEAR:linear:y_tod", "GBDT:gbdt:y_direct", "GBDT:gbdt:y_stack"]
    assert all(sum(w.values()) == pytest.approx(1.0, abs=1e-6) for t in shape.targets for w in hp["weights"][t].values())
    test = make_windows(data[1], shape, 3 * STEP)
    parts = [outputs(linear, test), outputs(gbdt, test)]
    units = [parts[0]["y_plain"], parts[0]["y_tod"], parts[1]["y_direct"], parts[1]["y_stack"]]
    y = outputs(outcome.fitted, test)["y"]
    for j, target in enumerate(shape.targets):
        w = hp["weights"][target]["h1"]
        mixed = sum(w[label] * u[:, 0, j] for label, u in zip(hp["units"], units, strict=True))
        assert rel_err(y[:, 0, j], mixed) < 1e-4


def test_a_member_without_usable_components_is_weighted_by_its_y(
    data: tuple[Series, Series], shape: Shape, linear: Fitted, gbdt: Fitted
) -> None:
    v = gbdt.validation
    assert v is not None and v.components is not None
    old = dataclasses.replace(member("gbdt", gbdt, shape), validation=ValidationPredictions(v.start, v.y, True))
    unknown = dataclasses.replace(v, component_names=("y_direct", "y_elsewhere"))  # the graph has no y_elsewhere
    renamed = dataclasses.replace(member("gbdt2", gbdt, shape), validation=unknown)
    fitted = Ensemble().fit(dataclasses.replace(job("ENSEMBLE", data[0], shape), members=(member("linear", linear, shape), old, renamed)))
    assert fitted.hyperparameters["units"] == ["LINEAR:linear:y_plain", "LINEAR:linear:y_tod", "GBDT:gbdt", "GBDT2:gbdt2"]
