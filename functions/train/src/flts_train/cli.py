"""Command line: ``python -m flts_train run --job spec.json`` (or env FLTS_TRAIN_JOB) and ``bench``."""

from __future__ import annotations

import argparse
import json
import os

from . import log
from .bench import DEFAULT_HORIZON, DEFAULT_MODELS


def _load_job(path: str | None) -> object:
    if path:
        with open(path, encoding="utf8") as fh:
            return json.load(fh)
    raw = os.environ.get("FLTS_TRAIN_JOB")
    if raw:
        return json.loads(raw)
    job_uri = os.environ.get("FLTS_JOB_URI")
    if job_uri:
        from . import s3io

        if not job_uri.startswith("s3://") or "/" not in job_uri[5:]:
            raise ValueError(f"FLTS_JOB_URI must be s3://bucket/key, got {job_uri!r}")
        bucket, key = job_uri[5:].split("/", 1)
        return json.loads(s3io.get_bytes(s3io.client(), bucket, key))
    raise ValueError("no job spec: pass --job <file.json>, or set FLTS_TRAIN_JOB (JSON) or FLTS_JOB_URI (s3://...)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flts_train", description="FLTS trainer (GRU, LSTM, Prophet, linear, GBDT, ensemble -> ONNX)")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run one job spec (S3 in, S3 out)")
    run_p.add_argument("--job", help="job spec JSON file (default: env FLTS_TRAIN_JOB)")
    bench_p = sub.add_parser("bench", help="train model types on CSV files and print a JSON summary")
    bench_p.add_argument("--data", required=True, help="train CSV")
    bench_p.add_argument("--test", required=True, help="test CSV")
    bench_p.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated; ENSEMBLE (last) combines the others")
    bench_p.add_argument("--horizon", type=int, default=DEFAULT_HORIZON, help="forecast steps")
    bench_p.add_argument("--max-epochs", type=int, default=None)
    bench_p.add_argument("--seed", type=int, default=42)
    bench_p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    bench_p.add_argument("--step-seconds", type=float, default=None, help="default: median spacing of the train CSV")
    args = parser.parse_args(argv)
    log.capture_library_output()

    if args.command == "bench":
        from .bench import main as bench_main

        return bench_main(args)

    try:
        job = _load_job(args.job)
    except Exception as exc:
        log.error("train_failed", error=f"cannot read the job spec: {exc}")
        return 2
    from .runner import run_job

    try:
        result = run_job(job)
    except Exception as exc:
        log.error("train_failed", error=str(exc))
        return 3
    return 0 if result.ok else 1
