"""Bench: train every model type on a train CSV, score on a test CSV; one JSON summary line on stdout."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import numpy as np

from . import log
from .data import read_csv
from .spec import MODEL_TYPES, Params
from .train import train_model


def run_bench(data: str, test: str, model_types: list[str], params: Params) -> dict[str, Any]:
    train_s = read_csv(data)
    test_s = read_csv(test)
    if params.step_seconds <= 0:  # infer the step (median spacing) and allow gaps up to 3 steps
        step = float(np.median(np.diff(train_s.times)))
        params = replace(params, step_seconds=step, gap_tolerance_seconds=3 * step)
    log.info(
        "bench_start",
        data=data,
        test=test,
        train_rows=len(train_s),
        test_rows=len(test_s),
        models=model_types,
        step_seconds=params.step_seconds,
        gap_tolerance_seconds=params.gap_tolerance_seconds,
    )
    out = []
    for mt in model_types:
        log.bind(model_type=mt)
        o = train_model(mt, train_s, test_s, params)
        entry = {
            "model_type": mt,
            "device": o.fitted.device,
            "train_seconds": round(o.fitted.train_seconds, 3),
            "epochs": o.fitted.epochs,
            "test": {k: {"mae": v["mae"], "rmse": v["rmse"]} for k, v in o.test.items()},
            "persistence": {k: {"mae": v["mae"], "rmse": v["rmse"]} for k, v in o.persistence.items()},
        }
        ratios = {
            k: {"mae": o.test[k]["mae"] / o.persistence[k]["mae"], "rmse": o.test[k]["rmse"] / o.persistence[k]["rmse"]} for k in o.test
        }
        log.info("bench_model", train_seconds=entry["train_seconds"], epochs=o.fitted.epochs, ratio_vs_persistence=ratios)
        out.append(entry)
    log.clear()
    return {"models": out}


def main(args: Any) -> int:
    types = [t.strip().upper() for t in args.models.split(",") if t.strip()]
    bad = [t for t in types if t not in MODEL_TYPES]
    if bad:
        log.error("bench_bad_args", error=f"unknown model type(s) {', '.join(bad)}; expected {', '.join(MODEL_TYPES)}")
        return 2
    step = float(args.step_seconds or 0.0)  # 0: inferred from the train CSV in run_bench
    params = Params(max_epochs=args.max_epochs, seed=args.seed, device=args.device, step_seconds=step, gap_tolerance_seconds=3 * step)
    summary = run_bench(args.data, args.test, types, params)
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0
