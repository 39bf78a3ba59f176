"""Bench: train model types on a train CSV, score on a test CSV; one JSON summary line on stdout.

Per model type and target: the MAE and RMSE ratio to persistence and the interval coverage at the report horizons
(steps 1, 5, 15 and 30 that the horizon reaches). ENSEMBLE, when listed, combines the types benched before it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import numpy as np

from . import log
from .data import Series, read_csv
from .models.base import Member
from .spec import ENSEMBLE, MODEL_TYPES, Params
from .train import TrainOutcome, train_model

REPORT_STEPS = (1, 5, 15, 30)
DEFAULT_MODELS = ("GRU", "LSTM", "PROPHET", "LINEAR", "GBDT")
DEFAULT_HORIZON = 30


def report_steps(horizon: int) -> list[int]:
    return [h for h in REPORT_STEPS if h <= horizon]


def at_steps(o: TrainOutcome, steps: list[int]) -> dict[str, Any]:
    """Per target and step ``h<n>``: MAE and RMSE ratio to persistence, interval coverage (null without ``q``)."""
    out: dict[str, Any] = {}
    for name, m in o.per_step.items():
        p = o.persistence_per_step[name]
        cover = o.intervals.get(name, {}).get("coverage_per_step")
        out[name] = {
            f"h{h}": {
                "mae_ratio": m["mae"][h - 1] / p["mae"][h - 1],
                "rmse_ratio": m["rmse"][h - 1] / p["rmse"][h - 1],
                "coverage": None if cover is None else cover[h - 1],
            }
            for h in steps
        }
    return out


def as_member(o: TrainOutcome) -> Member:
    """A benched outcome as an ENSEMBLE member (what a finished run's artifacts hold)."""
    s = o.shape
    card = {"window": s.window, "horizon": s.horizon, "targets": list(s.targets), "features": list(s.features)}
    return Member(f"bench-{o.model_type.lower()}", o.model_type, o.fitted.onnx_bytes, card, o.fitted.validation)


def bench_one(mt: str, train_s: Series, test_s: Series, params: Params, done: list[TrainOutcome]) -> TrainOutcome:
    members = tuple(as_member(o) for o in done) if mt == ENSEMBLE else ()
    return train_model(mt, train_s, test_s, params, members=members)


def run_bench(data: str, test: str, model_types: list[str], params: Params) -> dict[str, Any]:
    train_s = read_csv(data)
    test_s = read_csv(test)
    if params.step_seconds <= 0:  # infer the step (median spacing) and allow gaps up to 3 steps
        step = float(np.median(np.diff(train_s.times)))
        params = replace(params, step_seconds=step, gap_tolerance_seconds=3 * step)
    steps = report_steps(params.horizon)
    log.info(
        "bench_start",
        data=data,
        test=test,
        train_rows=len(train_s),
        test_rows=len(test_s),
        models=model_types,
        horizon=params.horizon,
        step_seconds=params.step_seconds,
        gap_tolerance_seconds=params.gap_tolerance_seconds,
    )
    out = []
    done: list[TrainOutcome] = []
    for mt in model_types:
        log.bind(model_type=mt)
        o = bench_one(mt, train_s, test_s, params, done)
        done.append(o)
        entry = {
            "model_type": mt,
            "device": o.fitted.device,
            "train_seconds": round(o.fitted.train_seconds, 3),
            "epochs": o.fitted.epochs,
            "test": {k: {"mae": v["mae"], "rmse": v["rmse"]} for k, v in o.test.items()},
            "persistence": {k: {"mae": v["mae"], "rmse": v["rmse"]} for k, v in o.persistence.items()},
            "quantiles": list(o.quantiles),
            "steps": at_steps(o, steps),
        }
        log.info("bench_model", train_seconds=entry["train_seconds"], epochs=o.fitted.epochs, steps=entry["steps"])
        out.append(entry)
    log.clear()
    return {"horizon": params.horizon, "report_steps": steps, "models": out}


def parse_models(text: str) -> list[str]:
    """The ``--models`` list; ENSEMBLE must come last and after at least two other types."""
    types = [t.strip().upper() for t in text.split(",") if t.strip()]
    bad = [t for t in types if t not in MODEL_TYPES]
    if bad:
        raise ValueError(f"unknown model type(s) {', '.join(bad)}; expected {', '.join(MODEL_TYPES)}")
    if not types:
        raise ValueError("--models names no model type")
    if ENSEMBLE in types and (types.index(ENSEMBLE) != len(types) - 1 or len(types) < 3):
        raise ValueError("ENSEMBLE must be the last of --models, after at least two member types")
    return types


def main(args: Any) -> int:
    try:
        types = parse_models(args.models)
    except ValueError as exc:
        log.error("bench_bad_args", error=str(exc))
        return 2
    if args.horizon < 1:
        log.error("bench_bad_args", error=f"--horizon must be >= 1, got {args.horizon}")
        return 2
    step = float(args.step_seconds or 0.0)  # 0: inferred from the train CSV in run_bench
    params = Params(
        horizon=args.horizon,
        max_epochs=args.max_epochs,
        seed=args.seed,
        device=args.device,
        step_seconds=step,
        gap_tolerance_seconds=3 * step,
    )
    summary = run_bench(args.data, args.test, types, params)
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0
