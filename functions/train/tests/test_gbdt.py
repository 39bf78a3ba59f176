"""GBDT: the graph matches LightGBM's own predictions, emits ordered quantiles, is deterministic, beats persistence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import onnx
import pytest

from flts_train.data import DataError, Series, Windows, make_windows, read_csv
from flts_train.models.base import FitJob, Fitted
from flts_train.models.gbdt_export import converted_booster, converted_forest
from flts_train.models.gbdt_features import ZERO_THRESHOLD
from flts_train.models.gbdt_strategy import Gbdt, train_steps
from flts_train.shape import Shape
from flts_train.spec import Params
from flts_train.train import onnx_session, train_model

POBLESEC = Path(__file__).resolve().parents[3] / "data" / "PobleSec.csv"
STEP = 120.0
CHEAP = {"preset": "cheap"}


@pytest.fixture(scope="module")
def poblesec() -> Series:
    return read_csv(str(POBLESEC))


def rows(s: Series, start: int, stop: int) -> Series:
    return Series(times=s.times[start:stop], columns=s.columns, values=s.values[start:stop])


def windows(s: Series, shape: Shape) -> Windows:
    return make_windows(s, shape, 3 * STEP)


def fit(
    train: Series, shape: Shape, overrides: dict[str, Any] | None = None, seed: int = 1, quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
) -> Fitted:
    job = FitJob("GBDT", shape, train, windows(train, shape), seed, "cpu", None, dict(overrides or {}), quantiles=quantiles)
    return Gbdt().fit(job)


@pytest.fixture(scope="module")
def shape6(poblesec: Series) -> Shape:
    return Shape(10, 6, poblesec.columns, ("down", "up"), STEP)


@pytest.fixture(scope="module")
def fitted6(poblesec: Series, shape6: Shape) -> Fitted:
    return fit(rows(poblesec, 0, 3000), shape6, CHEAP)


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def test_graph_matches_lightgbm_and_quantiles_are_ordered(poblesec: Series, shape6: Shape, fitted6: Fitted) -> None:
    test = windows(rows(poblesec, 3000, 4500), shape6)
    y, q = onnx_session(fitted6.onnx_bytes).run(["y", "q"], {"x": test.x.astype(np.float32), "t": test.t})
    n = test.x.shape[0]
    assert y.shape == (n, 6, 2) and y.dtype == np.float32
    assert q.shape == (n, 6, 2, 3) and q.dtype == np.float32
    assert fitted6.predict_quantiles is not None
    assert rel_err(y, fitted6.predict(test)) < 1e-4
    assert rel_err(q, fitted6.predict_quantiles(test)) < 1e-4
    assert np.all(np.diff(q, axis=-1) >= 0)
    graph = onnx.load_from_string(fitted6.onnx_bytes)
    assert [o.name for o in graph.graph.output] == ["y", "q", "y_direct", "y_stack"]  # and the components (test_components.py)
    assert {o.domain or "ai.onnx": o.version for o in graph.opset_import} == {"ai.onnx": 17, "ai.onnx.ml": 3}
    # per target: the cheap preset's 3 direct seeds and the stacked model
    assert sum(n.op_type == "TreeEnsembleRegressor" for n in graph.graph.node) == 2 * (3 + 1)
    hp = fitted6.hyperparameters
    assert hp["preset"] == "cheap" and hp["log1p_features"] == ["down", "up", "rnti_count"]
    assert hp["stack_steps"] == [1, 3, 6]


def test_validation_predictions_come_from_the_fit_part(poblesec: Series, shape6: Shape, fitted6: Fitted) -> None:
    w = windows(rows(poblesec, 0, 3000), shape6)
    n = w.x.shape[0]
    v = fitted6.validation
    assert v is not None and v.out_of_sample
    assert v.start == n - round(0.15 * n)
    assert v.y.shape == (n - v.start, 6, 2) and v.y.dtype == np.float32 and np.all(np.isfinite(v.y))
    tail = Windows(w.x[v.start :], w.t[v.start :], w.y[v.start :], w.last[v.start :])
    persistence = np.abs(tail.last[:, None, :] - tail.y).mean()
    assert np.abs(v.y - tail.y).mean() < persistence
    assert not np.allclose(fitted6.predict(tail), v.y)  # the exported boosters are the refit on every window


def test_converted_boosters_take_lightgbm_branches_on_float32_thresholds() -> None:
    rng = np.random.default_rng(0)
    grid = np.linspace(-1.0, 1.0, 97, dtype=np.float32)  # few distinct values: thresholds fall between neighbours
    x = rng.choice(grid, size=(3000, 3)).astype(np.float32)
    y = np.sin(3 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.standard_normal(3000)
    model = lgb.LGBMRegressor(objective="l1", n_estimators=40, num_threads=1, verbose=-1).fit(x, y)
    thresholds = [(s["split_feature"], s["threshold"]) for s in _splits(model)]
    probes = np.repeat(x[:1], 3 * len(thresholds), axis=0)
    for i, (f, th) in enumerate(thresholds):  # each threshold's nearest float32 and its two neighbours
        near = np.float32(th)
        probes[3 * i : 3 * i + 3, f] = [np.nextafter(near, np.float32(-2)), near, np.nextafter(near, np.float32(2))]
    probes = np.concatenate([probes, x])
    probes[np.abs(probes) <= ZERO_THRESHOLD] = 0.0  # LightGBM reads these as 0 (the feature subgraph flushes them)
    out = onnx_session(converted_booster(model, 3).SerializeToString()).run(None, {"input": probes})[0]
    assert np.max(np.abs(np.asarray(out).ravel() - model.predict(probes))) < 1e-5


def _splits(model: lgb.LGBMRegressor) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [t["tree_structure"] for t in model.booster_.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            found.append(node)
            stack += [node["left_child"], node["right_child"]]
    return found


def test_deterministic_with_a_seed(poblesec: Series) -> None:
    shape = Shape(10, 3, poblesec.columns, ("down",), STEP)
    train = rows(poblesec, 0, 1500)
    a, b, c = (fit(train, shape, CHEAP, seed=s) for s in (7, 7, 8))
    assert a.onnx_bytes == b.onnx_bytes
    assert a.onnx_bytes != c.onnx_bytes  # bagging and column sampling follow the seed


def test_horizon_one_uses_the_direct_model_alone(poblesec: Series) -> None:
    shape = Shape(10, 1, poblesec.columns, ("down", "up"), STEP)
    fitted = fit(rows(poblesec, 0, 1500), shape, {"preset": "full", "seeds": 2})
    test = windows(rows(poblesec, 1500, 2000), shape)
    y, q = onnx_session(fitted.onnx_bytes).run(["y", "q"], {"x": test.x.astype(np.float32), "t": test.t})
    assert y.shape == (test.x.shape[0], 1, 2) and q.shape == (test.x.shape[0], 1, 2, 3)
    assert rel_err(y, fitted.predict(test)) < 1e-4
    assert fitted.hyperparameters["stack_steps"] == [] and len(fitted.hyperparameters["trees"]["direct_down"]) == 2
    assert fitted.hyperparameters["step1_direct_weight"] == {"down": 1.0, "up": 1.0}


def test_beats_persistence_on_poblesec(poblesec: Series) -> None:
    params = Params(window=10, horizon=3, step_seconds=STEP, gap_tolerance_seconds=3 * STEP, seed=1)
    o = train_model("GBDT", rows(poblesec, 4000, 10000), rows(poblesec, 10000, 12000), params, CHEAP)
    for target in ("down", "up"):
        assert o.test[target]["mae"] < 0.95 * o.persistence[target]["mae"], (target, o.test, o.persistence)


def test_stacked_steps_keep_the_horizon() -> None:
    assert train_steps((1, 3, 8, 17, 30), 10) == (1, 3, 8, 10)
    assert train_steps((1, 3, 8, 17, 30), 30) == (1, 3, 8, 17, 30)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rounds": 10}, "unknown rounds"),
        ({"preset": "fast"}, "preset: must be auto, full or cheap"),
        ({"learning_rate": 0.0}, r"learning_rate: must be a number in \(0, 1\]"),
        ({"subsample": float("nan")}, r"subsample: must be a number in \(0, 1\]"),
        ({"seeds": 0}, "seeds: must be an integer from 1"),
        ({"num_threads": True}, "num_threads: must be an integer from 1"),
        ({"max_bin": 1}, "max_bin: must be an integer from 2"),
        ({"stack_steps": []}, "stack_steps: must be a non-empty list"),
        ({"stack_steps": [0, 3]}, "stack_steps: must be a non-empty list of step numbers from 1"),
        ({"forest_trees": -1}, "forest_trees: must be an integer from 0"),
        ({"forest_max_features": 0}, r"forest_max_features: must be a number in \(0, 1\]"),
        ({"forest_min_leaf": 0}, "forest_min_leaf: must be an integer from 1"),
    ],
)
def test_bad_hyperparameters_are_refused(poblesec: Series, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit(rows(poblesec, 0, 200), Shape(10, 2, poblesec.columns, ("down",), STEP), overrides)


def test_too_few_windows_are_refused(poblesec: Series) -> None:
    with pytest.raises(DataError, match="GBDT needs at least 20"):
        fit(rows(poblesec, 0, 30), Shape(10, 2, poblesec.columns, ("down",), STEP))


def test_converted_forest_branches_as_scikit_learn_on_its_thresholds() -> None:
    from sklearn.ensemble import ExtraTreesRegressor

    rng = np.random.default_rng(4)
    x = rng.standard_normal((600, 5)).astype(np.float32)
    forest = ExtraTreesRegressor(n_estimators=20, min_samples_leaf=5, max_features=0.6, random_state=0).fit(x, x[:, 0] - x[:, 1] ** 2)
    # inputs exactly at and next to every split's float32 rounding, where a nearest-float32 threshold branches wrongly
    splits = [(f, th) for e in forest.estimators_ for f, th in zip(e.tree_.feature, e.tree_.threshold, strict=True) if f >= 0]
    probe = np.repeat(x[:1], 3 * len(splits), axis=0)
    for i, (f, th) in enumerate(splits):
        near = np.float32(th)
        probe[3 * i : 3 * i + 3, f] = [np.nextafter(near, np.float32(-np.inf)), near, np.nextafter(near, np.float32(np.inf))]
    feed = np.concatenate([x, probe])
    got = onnx_session(converted_forest(forest, 5).SerializeToString()).run(None, {"input": feed})[0][:, 0]
    np.testing.assert_allclose(got, forest.predict(feed), rtol=0, atol=1e-5)
