"""The model card (``model.json``) and ``metrics.json``."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np

from .models.base import ValidationPredictions
from .spec import Params
from .train import TrainOutcome
from .versions import library_versions


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def metrics_doc(o: TrainOutcome) -> dict[str, Any]:
    return {
        "test": o.test,
        "persistence": o.persistence,
        "n_test_windows": o.n_test_windows,
        "per_step": o.per_step,
        "persistence_per_step": o.persistence_per_step,
        "intervals": o.intervals,
    }


def validation_npz(v: ValidationPredictions) -> bytes:
    """``validation.npz``: ``y`` float32 [n_val, horizon, n_targets], ``start`` int, ``out_of_sample`` bool; optional
    ``components`` float32 [c, n_val, horizon, n_targets] with ``component_names`` (the graph outputs they predict)."""
    buf = io.BytesIO()
    arrays: dict[str, Any] = {"y": v.y.astype(np.float32), "start": np.int64(v.start), "out_of_sample": np.bool_(v.out_of_sample)}
    if v.components is not None and v.component_names:  # [c, n_val, horizon, n_targets] and the graph outputs they are
        arrays["components"] = v.components.astype(np.float32)
        arrays["component_names"] = np.asarray(v.component_names, dtype=np.str_)
    np.savez(buf, **arrays)
    return buf.getvalue()


def model_card(
    o: TrainOutcome,
    *,
    run_id: str,
    identifier: str,
    config_hash: str,
    training_data: dict[str, Any],
    params: Params,
    timings: dict[str, float],
) -> dict[str, Any]:
    hyper = dict(o.fitted.hyperparameters)
    v = o.fitted.validation
    hyper["seed"] = params.seed
    hyper["gap_tolerance_seconds"] = params.gap_tolerance_seconds
    return {
        "v": 1,
        "run_id": run_id,
        "model_type": o.model_type,
        "identifier": identifier,
        "config_hash": config_hash,
        "features": list(o.shape.features),
        "targets": list(o.shape.targets),
        "window": o.shape.window,
        "horizon": o.shape.horizon,
        "step_seconds": o.shape.step_seconds,
        "training_data": training_data,
        "hyperparameters": hyper,
        "metrics": {"test": o.test, "persistence": o.persistence},
        "library_versions": library_versions(),
        "device": o.fitted.device,
        "epochs": o.fitted.epochs,
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "quantiles": list(o.quantiles),
        "validation": None if v is None else {"n_windows": int(v.y.shape[0]), "out_of_sample": v.out_of_sample},
        "created_at": utc_now(),
    }
