"""ENSEMBLE: weights on the simplex from validation predictions only, the combined graph's parity, member exclusion."""

from __future__ import annotations

import dataclasses
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from conftest import frame_to_series, synthetic_frame
from flts_train.data import Series, Windows, make_windows, read_csv, validation_split
from flts_train.models import conformal, ensemble_weights
from flts_train.models.base import FitJob, Member, ValidationPredictions
from flts_train.models.ensemble_strategy import Ensemble, EnsembleError
from flts_train.models.gbdt_strategy import Gbdt
from flts_train.models.linear_strategy import Linear
from flts_train.shape import Shape
from flts_train.spec import Params
from flts_train.train import onnx_session, train_model

DATA = Path(__file__).resolve().parents[3] / "data"
LEVELS = (0.1, 0.5, 0.9)
PARAMS = Params(window=8, horizon=5, targets=("down", "up"))


def series(n: int = 700, seed: int = 21) -> Series:
    return frame_to_series(synthetic_frame(n, step=120.0, seed=seed))


def shape_of(s: Series, params: Params = PARAMS) -> Shape:
    return Shape(params.window, params.horizon, s.columns, params.targets, params.step_seconds)


def _ridge(w: Windows, cols: list[int], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge on the standardised lags of ``cols``, folded back to raw units: (W [window·features, h·k], b [h·k])."""
    n, _, n_feat = w.x.shape
    mask = np.zeros(n_feat, dtype=bool)
    mask[cols] = True
    x = (w.x * mask).reshape(n, -1)
    y = w.y.reshape(n, -1)
    mean, std = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    z = (x - mean) / std
    ym = y.mean(axis=0)
    coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - ym))
    weights = coef / std[:, None]
    return weights, ym - mean @ weights


def _graph(shape: Shape, weights: np.ndarray, bias: np.ndarray, offs: np.ndarray | None, log_mask: np.ndarray) -> bytes:
    h, k = shape.horizon, shape.n_targets
    inits = [
        numpy_helper.from_array(np.asarray([-1, shape.window * shape.n_features], dtype=np.int64), "flat"),
        numpy_helper.from_array(np.asarray([-1, h, k], dtype=np.int64), "out"),
        numpy_helper.from_array(weights.astype(np.float32), "W"),
        numpy_helper.from_array(bias.astype(np.float32), "b"),
    ]
    nodes = [
        helper.make_node("Reshape", ["x", "flat"], ["xf"]),
        helper.make_node("MatMul", ["xf", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["yf"]),
        helper.make_node("Reshape", ["yf", "out"], ["y"]),
    ]
    outputs = [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", h, k])]
    if offs is not None:
        q_nodes, q_inits = conformal.onnx_nodes("y", offs, log_mask)
        nodes += q_nodes
        inits += q_inits
        outputs.append(helper.make_tensor_value_info("q", onnx.TensorProto.FLOAT, ["batch", h, k, offs.shape[-1]]))
    inputs = [
        helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", shape.window, shape.n_features]),
        helper.make_tensor_value_info("t", onnx.TensorProto.DOUBLE, ["batch", h]),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "ridge", inputs, outputs, initializer=inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    return bytes(model.SerializeToString())


def card(shape: Shape, run_id: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"run_id": run_id, "model_type": "LINEAR", "window": shape.window, "horizon": shape.horizon}
    doc.update(targets=list(shape.targets), features=list(shape.features), quantiles=list(LEVELS))
    doc.update(changes)
    return doc


def ridge_member(train: Series, shape: Shape, run_id: str, cols: list[int], alpha: float, with_q: bool = True) -> Member:
    """A LINEAR-like member as the trainer leaves one: fit-part validation predictions, graph refitted on all windows."""
    w = make_windows(train, shape, PARAMS.gap_tolerance_seconds)
    start = validation_split(w.x.shape[0])
    fit = Windows(w.x[:start], w.t[:start], w.y[:start], w.last[:start])
    coef, bias = _ridge(fit, cols, alpha)
    val_y = (w.x[start:].reshape(w.x.shape[0] - start, -1) @ coef + bias).reshape(-1, shape.horizon, shape.n_targets)
    log_mask = conformal.log_targets(train, shape.targets)
    offs = conformal.offsets(val_y, w.y[start:], log_mask, LEVELS) if with_q else None
    coef_all, bias_all = _ridge(w, cols, alpha)
    validation = ValidationPredictions(start=start, y=val_y.astype(np.float32), out_of_sample=True)
    return Member(run_id, "LINEAR", _graph(shape, coef_all, bias_all, offs, log_mask), card(shape, run_id), validation)


@pytest.fixture(scope="module")
def train() -> Series:
    return series()


@pytest.fixture(scope="module")
def members(train: Series) -> tuple[Member, Member]:
    shape = shape_of(train)
    targets_only = [shape.features.index(t) for t in shape.targets]
    return ridge_member(train, shape, "lin-a", targets_only, 1.0), ridge_member(train, shape, "lin-b", list(range(shape.n_features)), 30.0)


def fit_job(train: Series, members: tuple[Member, ...]) -> FitJob:
    shape = shape_of(train)
    w = make_windows(train, shape, PARAMS.gap_tolerance_seconds)
    return FitJob("ENSEMBLE", shape, train, w, 42, "cpu", None, quantiles=LEVELS, members=members)


def test_simplex_grid_holds_every_point_of_the_step() -> None:
    for m in (2, 3, 4):
        grid = ensemble_weights.simplex_grid(m)
        assert grid.shape == (comb(20 + m - 1, m - 1), m)
        assert np.allclose(grid.sum(axis=1), 1.0) and (grid >= 0).all()
        assert len({tuple(np.round(r, 6)) for r in grid}) == grid.shape[0]


def test_weights_follow_the_better_member_per_step_and_target() -> None:
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((400, 2, 2)) * 1e6
    noise = rng.standard_normal((400, 2, 2, 2)) * 1e6
    preds = truth[..., None] + noise
    preds[:, 0, :, 0] = truth[:, 0, :]  # member 0 exact at step 1
    preds[:, 1, :, 1] = truth[:, 1, :]  # member 1 exact at step 2
    w = ensemble_weights.fit_weights(preds, truth)
    assert w.shape == (2, 2, 2)
    assert np.allclose(w.sum(axis=-1), 1.0) and (w >= 0).all()
    assert np.allclose(w[0, :, 0], 1.0) and np.allclose(w[1, :, 1], 1.0)


def test_many_members_take_the_local_search_and_stay_on_the_simplex() -> None:
    rng = np.random.default_rng(1)
    truth = rng.standard_normal((300, 3, 1))
    preds = truth[..., None] + rng.standard_normal((300, 3, 1, 6)) * np.arange(1, 7)
    preds[:, :, :, 4] = truth + 0.01 * rng.standard_normal((300, 3, 1))
    w = ensemble_weights.fit_weights(preds, truth)
    assert np.allclose(w.sum(axis=-1), 1.0) and (w >= 0).all()
    assert (w[..., 4] >= 0.9).all()
    grid_mae = np.abs(np.einsum("nhjm,hjm->nhj", preds, w) - truth).mean()
    assert grid_mae <= np.abs(preds[..., 4] - truth).mean() + 1e-12


def test_the_graph_matches_the_weighted_members(train: Series, members: tuple[Member, Member]) -> None:
    fitted = Ensemble().fit(fit_job(train, members))
    test = make_windows(series(300, seed=5), shape_of(train), PARAMS.gap_tolerance_seconds)
    y, q = onnx_session(fitted.onnx_bytes).run(["y", "q"], {"x": test.x.astype(np.float32), "t": test.t})
    native = fitted.predict(test)
    assert y.shape == (test.x.shape[0], 5, 2) and q.shape == (test.x.shape[0], 5, 2, 3)
    assert np.max(np.abs(y - native) / np.maximum(np.abs(native), 1.0)) < 1e-5
    assert fitted.predict_quantiles is not None
    native_q = fitted.predict_quantiles(test)
    assert np.max(np.abs(q - native_q) / np.maximum(np.abs(native_q), 1.0)) < 1e-4
    assert (np.diff(q, axis=-1) >= 0).all()
    member_ys = [onnx_session(m.onnx_bytes).run(["y"], {"x": test.x.astype(np.float32), "t": test.t})[0] for m in members]
    weights = fitted.hyperparameters["weights"]
    for j, target in enumerate(("down", "up")):
        for step in (1, 5):
            w = weights[target][f"h{step}"]
            assert sum(w.values()) == pytest.approx(1.0, abs=1e-6)
            mixed = sum(w[f"LINEAR:{m.run_id}"] * member_ys[k][:, step - 1, j] for k, m in enumerate(members))
            assert np.allclose(y[:, step - 1, j], mixed, rtol=1e-4)
    assert fitted.validation is not None and not fitted.validation.out_of_sample
    assert fitted.validation.y.shape == members[0].validation.y.shape  # type: ignore[union-attr]


def test_weights_are_fitted_on_validation_predictions_never_on_test(train: Series, members: tuple[Member, Member]) -> None:
    runs = [train_model("ENSEMBLE", train, series(300, seed=s), PARAMS, members=members) for s in (5, 6)]
    assert runs[0].test != runs[1].test  # the test sets differ ...
    assert runs[0].fitted.onnx_bytes == runs[1].fitted.onnx_bytes  # ... the model does not
    assert runs[0].fitted.hyperparameters["weights"] == runs[1].fitted.hyperparameters["weights"]
    a, b = members
    assert a.validation is not None
    worse = dataclasses.replace(a, validation=dataclasses.replace(a.validation, y=a.validation.y * 1.5))
    moved = Ensemble().fit(fit_job(train, (worse, b)))
    assert moved.hyperparameters["weights"] != runs[0].fitted.hyperparameters["weights"]


def test_unusable_members_are_excluded_with_the_reason(train: Series, members: tuple[Member, Member]) -> None:
    a, b = members
    shape = shape_of(train)
    assert a.validation is not None
    bad = [
        dataclasses.replace(a, run_id="no-val", validation=None, validation_problem="no validation predictions (s3://x does not exist)"),
        dataclasses.replace(a, run_id="in-sample", validation=dataclasses.replace(a.validation, out_of_sample=False)),
        dataclasses.replace(a, run_id="other-horizon", card=card(shape, "other-horizon", horizon=3)),
        dataclasses.replace(a, run_id="other-start", validation=dataclasses.replace(a.validation, start=a.validation.start - 1)),
        ridge_member(train, shape, "no-q", [0, 1], 1.0, with_q=False),
    ]
    fitted = Ensemble().fit(fit_job(train, (a, *bad, b)))
    assert [m["run_id"] for m in fitted.hyperparameters["members"]] == ["lin-a", "lin-b"]
    reasons = {e["run_id"]: e["reason"] for e in fitted.hyperparameters["excluded"]}
    assert "does not exist" in reasons["no-val"]
    assert "not out of sample" in reasons["in-sample"]
    assert "horizon is 3" in reasons["other-horizon"]
    assert "starts at window" in reasons["other-start"]
    assert "no quantile output 'q'" in reasons["no-q"]
    with pytest.raises(EnsembleError, match=r"at least 2 usable members, 1 of 3 .*in-sample \(LINEAR\): its validation"):
        Ensemble().fit(fit_job(train, (a, bad[1], bad[2])))


def test_on_real_data_a_trained_linear_member_and_a_ridge_beat_each_alone_on_validation() -> None:
    whole = read_csv(str(DATA / "PobleSec.csv"))
    train = Series(whole.times[:2500], whole.columns, whole.values[:2500])
    job = fit_job(train, ())
    linear = Linear().fit(dataclasses.replace(job, model_type="LINEAR"))
    assert linear.validation is not None
    real = Member("lin-real", "LINEAR", linear.onnx_bytes, card(job.shape, "lin-real"), linear.validation)
    ridge = ridge_member(train, job.shape, "ridge", [job.shape.features.index(t) for t in job.shape.targets], 1.0)
    test = Series(whole.times[2500:3000], whole.columns, whole.values[2500:3000])
    outcome = train_model("ENSEMBLE", train, test, PARAMS, members=(real, ridge))
    assert [m["run_id"] for m in outcome.fitted.hyperparameters["members"]] == ["lin-real", "ridge"]
    assert outcome.fitted.validation is not None
    truth = job.train_windows.y[linear.validation.start :]
    mae = {name: np.abs(y - truth).mean(axis=0) for name, y in (("ens", outcome.fitted.validation.y), ("lin", linear.validation.y))}
    assert ridge.validation is not None
    best_single = np.minimum(mae["lin"], np.abs(ridge.validation.y - truth).mean(axis=0))
    assert (mae["ens"] <= best_single * (1 + 1e-5)).all()  # a single member is a grid point of every step's search


def test_a_gbdt_member_brings_its_ml_opset_into_the_graph(train: Series, members: tuple[Member, Member]) -> None:
    job = dataclasses.replace(fit_job(train, ()), model_type="GBDT", overrides={"preset": "cheap", "max_rounds": 20, "stack_steps": [1, 5]})
    gbdt = Gbdt().fit(job)
    assert gbdt.validation is not None and gbdt.validation.out_of_sample
    member = Member("gbdt", "GBDT", gbdt.onnx_bytes, card(job.shape, "gbdt"), gbdt.validation)
    outcome = train_model("ENSEMBLE", train, series(300, seed=5), PARAMS, members=(member, members[1]))  # parity of y and q checked
    opsets = {o.domain: o.version for o in onnx.load_from_string(outcome.fitted.onnx_bytes).opset_import}
    assert opsets == {"": 17, "ai.onnx.ml": 3}
    assert outcome.intervals["down"]["coverage"] is not None
