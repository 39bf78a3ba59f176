"""LINEAR: the ridge graph matches its numpy model, emits ordered quantiles, and beats persistence on real data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from flts_train.data import DataError, Series, make_windows, read_csv
from flts_train.models.base import FitJob, Fitted
from flts_train.models.linear_strategy import Linear
from flts_train.shape import Shape
from flts_train.spec import Params
from flts_train.train import onnx_session, train_model

POBLESEC = Path(__file__).resolve().parents[3] / "data" / "PobleSec.csv"
STEP = 120.0


@pytest.fixture(scope="module")
def poblesec() -> Series:
    return read_csv(str(POBLESEC))


def rows(s: Series, start: int, stop: int) -> Series:
    return Series(times=s.times[start:stop], columns=s.columns, values=s.values[start:stop])


def fit(train: Series, shape: Shape, overrides: dict[str, Any] | None = None, quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)) -> Fitted:
    windows = make_windows(train, shape, 3 * STEP)
    job = FitJob("LINEAR", shape, train, windows, 1, "cpu", None, dict(overrides or {}), quantiles=quantiles)
    return Linear().fit(job)


@pytest.mark.parametrize(
    ("features", "targets", "quantiles"),
    [
        (None, ("down", "up"), (0.1, 0.5, 0.9)),  # log1p targets, every feature
        (("mcs_down", "mcs_up", "rb_down"), ("mcs_down",), (0.05, 0.25, 0.5, 0.75, 0.95)),  # no log1p column
    ],
)
def test_graph_matches_numpy_and_quantiles_are_ordered(
    poblesec: Series, features: tuple[str, ...] | None, targets: tuple[str, ...], quantiles: tuple[float, ...]
) -> None:
    cols = features or poblesec.columns
    shape = Shape(10, 6, tuple(cols), targets, STEP)
    fitted = fit(rows(poblesec, 0, 4000), shape, quantiles=quantiles)
    test = make_windows(rows(poblesec, 4000, 5000), shape, 3 * STEP)
    y, q = onnx_session(fitted.onnx_bytes).run(["y", "q"], {"x": test.x.astype(np.float32), "t": test.t})
    n = test.x.shape[0]
    assert y.shape == (n, 6, len(targets)) and y.dtype == np.float32
    assert q.shape == (n, 6, len(targets), len(quantiles)) and q.dtype == np.float32
    native_y = fitted.predict(test)
    assert fitted.predict_quantiles is not None
    native_q = fitted.predict_quantiles(test)
    assert np.max(np.abs(y - native_y) / np.maximum(np.abs(native_y), 1.0)) < 1e-4
    assert np.max(np.abs(q - native_q) / np.maximum(np.abs(native_q), 1.0)) < 1e-4
    assert np.all(np.diff(q, axis=-1) >= 0)
    graph = onnx.load_from_string(fitted.onnx_bytes)
    assert [o.name for o in graph.graph.output] == ["y", "q", "y_plain", "y_tod"]  # and the components (test_components.py)
    assert {o.domain or "ai.onnx": o.version for o in graph.opset_import} == {"ai.onnx": 17}
    hp = fitted.hyperparameters
    assert hp["log1p_features"] == ([] if features else ["down", "up", "rnti_count"])
    assert sum(hp["alpha_counts"].values()) == 6 * len(targets)


def test_validation_predictions_are_the_fit_part_models(poblesec: Series) -> None:
    shape = Shape(10, 4, poblesec.columns, ("down", "up"), STEP)
    train = rows(poblesec, 0, 3000)
    fitted = fit(train, shape)
    n = make_windows(train, shape, 3 * STEP).x.shape[0]
    v = fitted.validation
    assert v is not None and v.out_of_sample
    assert v.start == fitted.hyperparameters["fit_windows"] == n - round(0.15 * n)
    assert v.y.shape == (n - v.start, 4, 2) and v.y.dtype == np.float32 and np.all(np.isfinite(v.y))
    # refitted on every window, the exported model differs from the fit-part model on the validation slice
    windows = make_windows(train, shape, 3 * STEP)
    tail = type(windows)(windows.x[v.start :], windows.t[v.start :], windows.y[v.start :], windows.last[v.start :])
    assert not np.allclose(fitted.predict(tail), v.y)


def test_time_of_day_can_be_refused(poblesec: Series) -> None:
    shape = Shape(10, 3, poblesec.columns, ("down", "up"), STEP)
    train = rows(poblesec, 0, 4000)
    with_tod = fit(train, shape, {"tod_margin": 0.0})
    without = fit(train, shape, {"time_of_day": False})
    ops_with = {n.op_type for n in onnx.load_from_string(with_tod.onnx_bytes).graph.node}
    ops_without = {n.op_type for n in onnx.load_from_string(without.onnx_bytes).graph.node}
    assert sum(with_tod.hyperparameters["time_of_day_steps"].values()) > 0 and "Sin" in ops_with
    assert without.hyperparameters["time_of_day_steps"] == {"down": 0, "up": 0} and "Sin" not in ops_without


def test_beats_persistence_on_poblesec(poblesec: Series) -> None:
    params = Params(window=10, horizon=3, step_seconds=STEP, gap_tolerance_seconds=3 * STEP, seed=1)
    o = train_model("LINEAR", rows(poblesec, 4000, 10000), rows(poblesec, 10000, 12000), params)
    assert o.fitted.train_seconds < 10
    for target in ("down", "up"):
        assert o.test[target]["mae"] < 0.95 * o.persistence[target]["mae"], (target, o.test, o.persistence)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"alpha": 1.0}, "unknown alpha"),
        ({"alphas": []}, "alphas: must be a non-empty list"),
        ({"alphas": [1.0, -2.0]}, "-2.0 is not a finite number above 0"),
        ({"alphas": [float("nan")]}, "is not a finite number above 0"),
        ({"alphas": "1,10"}, "alphas: must be a non-empty list"),
        ({"time_of_day": "yes"}, "time_of_day: must be true or false"),
        ({"tod_margin": 1.5}, r"tod_margin: must be a number in \[0, 1\)"),
    ],
)
def test_bad_hyperparameters_are_refused(poblesec: Series, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit(rows(poblesec, 0, 200), Shape(10, 2, poblesec.columns, ("down",), STEP), overrides)


def test_too_few_windows_are_refused(poblesec: Series) -> None:
    with pytest.raises(DataError, match="1 train window"):
        fit(rows(poblesec, 0, 12), Shape(10, 2, poblesec.columns, ("down",), STEP))
