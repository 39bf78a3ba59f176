"""Fits one model type on a train series, scores it on a test series, exports the ONNX graph.

Shared by the job runner (S3 in, S3 out), the bench (CSV in, JSON out) and the fixture script.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from . import log, metrics, tracking
from .data import DataError, Series, Windows, make_windows, resolve_columns
from .finite import require_finite_loss, require_finite_predictions
from .spec import Params



@dataclass
class TrainOutcome:
    model_type: str
    onnx_bytes: bytes
    features: tuple[str, ...]
    targets: tuple[str, ...]
    hyperparameters: dict[str, Any]
    device: str
    epochs: int
    train_seconds: float
    export_seconds: float
    test: dict[str, dict[str, float]]
    persistence: dict[str, dict[str, float]]
    n_test_windows: int
    native: Any = None  # the torch module or the list of Prophet models
    extra: dict[str, Any] = field(default_factory=dict)


def onnx_session(model_bytes: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes, sess_options=opts, providers=["CPUExecutionProvider"])


def onnx_predict(sess: ort.InferenceSession, w: Windows, batch: int = 4096) -> np.ndarray:
    outs = []
    for i in range(0, w.x.shape[0], batch):
        outs.append(sess.run(["y"], {"x": w.x[i : i + batch].astype(np.float32), "t": w.t[i : i + batch].astype(np.float64)})[0])
    if not outs:
        raise DataError("no test windows")
    return np.concatenate(outs, axis=0)


def op_types(model_bytes: bytes) -> set[str]:
    return {n.op_type for n in onnx.load_from_string(model_bytes).graph.node}


def train_model(
    model_type: str,
    train: Series,
    test: Series,
    params: Params,
    hyper_overrides: dict[str, Any] | None = None,
    time_budget_seconds: float | None = None,
) -> TrainOutcome:
    targets = params.targets
    features = resolve_columns(train, params.features, targets)
    missing = [c for c in features if c not in test.columns]
    if missing:
        raise DataError(f"test data lacks column(s) {', '.join(missing)}")
    wtrain = make_windows(train, features, targets, params.window, params.horizon, params.gap_tolerance_seconds)
    wtest = make_windows(test, features, targets, params.window, params.horizon, params.gap_tolerance_seconds)
    if wtest.x.shape[0] == 0:
        raise DataError(
            f"test data yields no window of {params.window}+{params.horizon} rows without a gap over {params.gap_tolerance_seconds}s"
        )
    log.info("windows", train_windows=int(wtrain.x.shape[0]), test_windows=int(wtest.x.shape[0]), features=list(features))
    overrides = dict(hyper_overrides or {})
    if model_type in ("GRU", "LSTM"):
        from .models import rnn

        if wtrain.x.shape[0] < 20:
            raise DataError(f"train data yields only {wtrain.x.shape[0]} windows; need at least 20")
        hp = rnn.RnnHyper(**overrides)
        hp.max_epochs = params.max_epochs or hp.max_epochs

        def on_epoch(rec: dict[str, float]) -> None:
            log.info("epoch", model_type=model_type, max_epochs=hp.max_epochs, **rec)
            tracking.epoch(rec)

        t0 = time.monotonic()
        res = rnn.fit(
            model_type, wtrain, features, targets, params.window, params.horizon, params.step_seconds,
            hp, params.seed, params.device, on_epoch=on_epoch, time_budget_seconds=time_budget_seconds,
        )
        train_seconds = time.monotonic() - t0
        log.info("trained", model_type=model_type, epochs=res.epochs, best_epoch=res.best_epoch, train_seconds=round(train_seconds, 3), device=res.device)
        t1 = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            rnn.export_onnx(res.model, path)
            model_bytes = open(path, "rb").read()
        ops = op_types(model_bytes)
        if model_type not in ops:
            raise RuntimeError(f"exported graph has no ONNX {model_type} operator (ops: {sorted(ops)})")
        export_seconds = time.monotonic() - t1
        native_pred = rnn.predict(res.model, wtest.x, wtest.t)
        hyper = hp.to_dict()
        hyper.update(
            {
                "best_epoch": res.best_epoch,
                "log1p_features": [f for f, m in zip(features, res.model.feat_log.tolist()) if m > 0],
                "target_mode": "delta_from_last_in_transformed_space",
                "opset": rnn.OPSET,
            }
        )
        device, epochs, native = res.device, res.epochs, res.model
    elif model_type == "PROPHET":
        from .models import prophet_export as pe

        hp_p = pe.ProphetHyper(**overrides)
        t0 = time.monotonic()
        models = []
        for j, name in enumerate(targets):
            t_fit = time.monotonic()
            models.append(pe.fit_prophet(train.times, train.select([name])[:, 0], hp_p, params.seed))
            log.info("prophet_fit", target=name, seconds=round(time.monotonic() - t_fit, 3), index=j)
        train_seconds = time.monotonic() - t0
        t1 = time.monotonic()
        model_bytes = pe.build_graph(models, params.window, len(features), params.horizon).SerializeToString()
        export_seconds = time.monotonic() - t1
        native_pred = np.stack([pe.prophet_predict(m, wtest.t) for m in models], axis=-1)
        hyper = hp_p.to_dict()
        hyper["opset"] = pe.OPSET
        device, epochs, native = "cpu", 0, models
    else:
        raise ValueError(f"unknown model type {model_type!r}")

    require_finite_predictions(native_pred, targets, f"{model_type} test predictions (native model)")
    sess = onnx_session(model_bytes)
    pred = onnx_predict(sess, wtest)
    require_finite_predictions(pred, targets, f"{model_type} test predictions (ONNX)")
    scale = np.maximum(np.abs(native_pred), 1.0)
    parity = float(np.max(np.abs(pred - native_pred) / scale))
    log.info("onnx_parity", model_type=model_type, max_rel_err=parity)
    if not parity < 1e-3:
        raise RuntimeError(f"ONNX output differs from the native model (max relative error {parity:.3g})")
    test_m = metrics.per_target(pred, wtest.y, targets)
    pers_m = metrics.per_target(metrics.persistence(wtest.last, params.horizon), wtest.y, targets)
    for name, m in test_m.items():
        for key, value in m.items():
            require_finite_loss(value, f"{model_type} test {key} of {name}")
    return TrainOutcome(
        model_type=model_type,
        onnx_bytes=model_bytes,
        features=features,
        targets=targets,
        hyperparameters=hyper,
        device=device,
        epochs=epochs,
        train_seconds=train_seconds,
        export_seconds=export_seconds,
        test=test_m,
        persistence=pers_m,
        n_test_windows=int(wtest.x.shape[0]),
        native=native,
        extra={"onnx_parity_max_rel_err": parity},
    )
