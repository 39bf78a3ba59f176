"""Fits one model type on a train series, scores it on a test series, exports the ONNX graph.

Shared by the job runner (S3 in, S3 out), the bench (CSV in, JSON out) and the fixture script. The model
families are the strategies in ``models.STRATEGIES``; what follows the fit (ONNX parity with the native
model, finite predictions, metrics, the persistence baseline) is the same for every one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from . import log, metrics
from .data import DataError, Series, Windows, make_windows, resolve_columns
from .finite import require_finite_loss, require_finite_predictions
from .models import STRATEGIES
from .models.base import FitJob, Fitted, Member
from .shape import Shape
from .spec import Params

PARITY_MAX_REL_ERR = 1e-3


@dataclass(frozen=True)
class TrainOutcome:
    model_type: str
    shape: Shape
    fitted: Fitted
    test: dict[str, dict[str, float]]
    persistence: dict[str, dict[str, float]]
    n_test_windows: int


def onnx_session(model_bytes: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes, sess_options=opts, providers=["CPUExecutionProvider"])


def onnx_predict(sess: ort.InferenceSession, w: Windows, batch: int = 4096) -> np.ndarray:
    outs = []
    for i in range(0, w.x.shape[0], batch):
        feed = {"x": w.x[i : i + batch].astype(np.float32), "t": w.t[i : i + batch].astype(np.float64)}
        outs.append(np.asarray(sess.run(["y"], feed)[0]))
    if not outs:
        raise DataError("no test windows")
    return np.concatenate(outs, axis=0)


def train_model(
    model_type: str,
    train: Series,
    test: Series,
    params: Params,
    hyper_overrides: dict[str, Any] | None = None,
    time_budget_seconds: float | None = None,
    members: tuple[Member, ...] = (),
) -> TrainOutcome:
    strategy = STRATEGIES.get(model_type)
    if strategy is None:
        raise ValueError(f"unknown model type {model_type!r}")
    shape = Shape(
        params.window, params.horizon, resolve_columns(train, params.features, params.targets), params.targets, params.step_seconds
    )
    missing = [c for c in shape.features if c not in test.columns]
    if missing:
        raise DataError(f"test data lacks column(s) {', '.join(missing)}")
    wtrain = make_windows(train, shape, params.gap_tolerance_seconds)
    wtest = make_windows(test, shape, params.gap_tolerance_seconds)
    if wtest.x.shape[0] == 0:
        raise DataError(
            f"test data yields no window of {params.window}+{params.horizon} rows without a gap over {params.gap_tolerance_seconds}s"
        )
    log.info("windows", train_windows=int(wtrain.x.shape[0]), test_windows=int(wtest.x.shape[0]), features=list(shape.features))
    fitted = strategy.fit(
        FitJob(
            model_type,
            shape,
            train,
            wtrain,
            params.seed,
            params.device,
            params.max_epochs,
            dict(hyper_overrides or {}),
            time_budget_seconds,
            members=members,
        )
    )
    pred = checked_predictions(model_type, shape.targets, fitted, wtest)
    test_m = metrics.per_target(pred, wtest.y, shape.targets)
    pers_m = metrics.per_target(metrics.persistence(wtest.last, params.horizon), wtest.y, shape.targets)
    for name, m in test_m.items():
        for key, value in m.items():
            require_finite_loss(value, f"{model_type} test {key} of {name}")
    return TrainOutcome(model_type, shape, fitted, test_m, pers_m, int(wtest.x.shape[0]))


def checked_predictions(model_type: str, targets: tuple[str, ...], fitted: Fitted, wtest: Windows) -> np.ndarray:
    """The ONNX graph's test predictions, refused when not finite or when they differ from the native model's."""
    native_pred = fitted.predict(wtest)
    require_finite_predictions(native_pred, targets, f"{model_type} test predictions (native model)")
    pred = onnx_predict(onnx_session(fitted.onnx_bytes), wtest)
    require_finite_predictions(pred, targets, f"{model_type} test predictions (ONNX)")
    scale = np.maximum(np.abs(native_pred), 1.0)
    parity = float(np.max(np.abs(pred - native_pred) / scale))
    log.info("onnx_parity", model_type=model_type, max_rel_err=parity)
    if not parity < PARITY_MAX_REL_ERR:
        raise RuntimeError(f"ONNX output differs from the native model (max relative error {parity:.3g})")
    return pred
