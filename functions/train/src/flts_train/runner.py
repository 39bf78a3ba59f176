"""One training job: read the claim check's Parquet from S3, train, write artifacts, then _SUCCESS or _FAILED."""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

from . import heartbeat, log, s3io, tracking
from .card import metrics_doc, model_card, utc_now, validation_npz
from .data import read_parquet_bytes
from .finite import NonFiniteError
from .members import load_members
from .spec import SpecError, best_effort_ids, parse_job
from .train import train_model


@dataclass
class JobResult:
    ok: bool
    run_id: str | None
    model_type: str | None
    artifact_uri: str | None
    error: str | None = None
    metrics: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "SUCCESS" if self.ok else "FAILED",
            "run_id": self.run_id,
            "model_type": self.model_type,
            "artifact_uri": self.artifact_uri,
            "error": self.error,
            "metrics": self.metrics,
        }


def describe(exc: BaseException) -> str:
    if isinstance(exc, (SpecError, s3io.ObjectMissing, NonFiniteError)):
        return str(exc)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def run_job(raw: Any, s3: Any = None, time_budget_seconds: float | None = None) -> JobResult:
    """Runs one job spec (decoded JSON). Never raises for a job error: it writes ``_FAILED`` instead.

    Raises only when even ``_FAILED`` cannot be written (the caller then exits non-zero / errors).
    """
    started = time.monotonic()
    run_id, model_type, dest = best_effort_ids(raw)
    log.bind(run_id=run_id, model_type=model_type)
    artifact_uri = s3io.uri(*dest) if dest else None
    try:
        spec = parse_job(raw)
        s3 = s3 or s3io.client()
        heartbeat.start(s3, dest, spec.run_id)
        td = spec.training_data
        p = spec.params
        log.info("train_start", identifier=spec.identifier, config_hash=spec.config_hash, artifact_uri=artifact_uri, params=p.__dict__)
        tracking.start(spec, artifact_uri)  # optional MLflow sink (MLFLOW_TRACKING_URI); never raises
        t_load = time.monotonic()
        train = read_parquet_bytes(s3io.get_bytes(s3, td.bucket, td.object_key), s3io.uri(td.bucket, td.object_key))
        test = read_parquet_bytes(s3io.get_bytes(s3, td.bucket, td.test_object_key), s3io.uri(td.bucket, td.test_object_key))
        load_seconds = time.monotonic() - t_load
        log.info("data_loaded", train_rows=len(train), test_rows=len(test), load_seconds=round(load_seconds, 3))
        budget = None if time_budget_seconds is None else max(10.0, time_budget_seconds - (time.monotonic() - started))
        refs = [(m.run_id, m.model_type) for m in spec.ensemble.members] if spec.ensemble else []
        members = load_members(s3, spec.artifacts.bucket, refs)
        outcome = train_model(spec.model_type, train, test, p, time_budget_seconds=budget, members=members)
        timings = {
            "load_seconds": load_seconds,
            "train_seconds": outcome.fitted.train_seconds,
            "export_seconds": outcome.fitted.export_seconds,
            "total_seconds": time.monotonic() - started,
        }
        card = model_card(
            outcome,
            run_id=spec.run_id,
            identifier=spec.identifier,
            config_hash=spec.config_hash,
            training_data=td.claim_check(),
            params=p,
            timings=timings,
        )
        bucket, prefix = spec.artifacts.bucket, spec.artifacts.prefix
        s3io.put_bytes(s3, bucket, prefix + "model.onnx", outcome.fitted.onnx_bytes, "application/octet-stream")
        s3io.put_json(s3, bucket, prefix + "model.json", card)
        s3io.put_json(s3, bucket, prefix + "metrics.json", metrics_doc(outcome))
        if outcome.fitted.validation is not None:
            data = validation_npz(outcome.fitted.validation)
            s3io.put_bytes(s3, bucket, prefix + "validation.npz", data, "application/octet-stream")
        tracking.succeeded(card, metrics_doc(outcome), outcome.fitted.onnx_bytes)
        s3io.put_json(s3, bucket, prefix + "_SUCCESS", {"run_id": spec.run_id, "finished_at": utc_now()})
        log.info(
            "train_success",
            artifact_uri=artifact_uri,
            test=outcome.test,
            persistence=outcome.persistence,
            epochs=outcome.fitted.epochs,
            device=outcome.fitted.device,
            total_seconds=round(time.monotonic() - started, 3),
        )
        return JobResult(True, spec.run_id, spec.model_type, artifact_uri, metrics=metrics_doc(outcome))
    except Exception as exc:  # every failure ends in _FAILED
        message = describe(exc)
        log.error("train_failed", error=message, traceback=traceback.format_exc(limit=8))
        tracking.failed(message)
        if dest is None:
            log.error("failed_marker_unwritable", error="the job spec names no usable artifacts.bucket/prefix")
            return JobResult(False, run_id, model_type, None, error=message)
        try:
            s3 = s3 or s3io.client()
            s3io.put_bytes(
                s3,
                dest[0],
                dest[1] + "_FAILED",
                (json.dumps({"run_id": run_id, "model_type": model_type, "error": message}, indent=2) + "\n").encode(),
                "application/json",
            )
        except Exception as put_exc:
            log.error("failed_marker_unwritable", error=describe(put_exc))
            raise RuntimeError(f"job failed ({message}) and _FAILED could not be written: {describe(put_exc)}") from put_exc
        return JobResult(False, run_id, model_type, artifact_uri, error=message)
    finally:
        heartbeat.stop()
        tracking.close()
        log.clear()
