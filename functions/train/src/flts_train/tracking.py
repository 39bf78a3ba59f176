"""Optional MLflow sink for a training run, on when ``MLFLOW_TRACKING_URI`` is set.

One MLflow run per FLTS run (experiment ``MLFLOW_EXPERIMENT_NAME``, default ``flts``; tag
``flts.run_id`` names the FLTS run): the job's params at the start, ``train_loss`` / ``val_loss`` per
epoch, then the test and persistence metrics, the hyperparameters, ``model.onnx`` and ``model.json``
as artifacts, and FINISHED (or FAILED with the error). S3 stays the record: a tracking failure logs
one ``mlflow_tracking_failed`` warning and the run stops talking to MLflow; training goes on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import log
from .mlflow_rest import Client, MlflowError, Transport, base_url, metric, param, tag, urllib_transport

if TYPE_CHECKING:  # spec -> models -> strategies -> tracking: the import is for the annotations only
    from .spec import JobSpec

ENV_URI = "MLFLOW_TRACKING_URI"
ENV_EXPERIMENT = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "flts"


def now_ms() -> int:
    return int(time.time() * 1000)


def start_tags(spec: JobSpec, artifact_uri: str | None) -> list[dict[str, str]]:
    tags = [
        tag("flts.run_id", spec.run_id),
        tag("flts.model_type", spec.model_type),
        tag("flts.identifier", spec.identifier),
        tag("flts.config_hash", spec.config_hash),
        tag("mlflow.source.name", "flts_train"),
    ]
    if artifact_uri:
        tags.append(tag("flts.artifact_uri", artifact_uri))
    return tags


def start_params(spec: JobSpec) -> list[dict[str, str]]:
    """The job's params (``features`` is logged at the end, resolved: the spec may leave it open)."""
    p = spec.params
    return [
        param("model_type", spec.model_type),
        param("identifier", spec.identifier),
        param("config_hash", spec.config_hash),
        param("window", p.window),
        param("horizon", p.horizon),
        param("targets", ",".join(p.targets)),
        param("step_seconds", p.step_seconds),
        param("gap_tolerance_seconds", p.gap_tolerance_seconds),
        param("max_epochs", "default" if p.max_epochs is None else p.max_epochs),
        param("seed", p.seed),
        param("device", p.device),
        param("train_object", f"s3://{spec.training_data.bucket}/{spec.training_data.object_key}"),
    ]


def epoch_metrics(rec: Mapping[str, float], timestamp_ms: int) -> list[dict[str, Any]]:
    step = int(rec["epoch"])
    out = [metric(k, rec[k], step, timestamp_ms) for k in ("train_loss", "val_loss") if k in rec]
    return [m for m in out if m is not None]


def result_metrics(metrics_doc: Mapping[str, Any], card: Mapping[str, Any], timestamp_ms: int) -> list[dict[str, Any]]:
    """``test.<target>.<mae|rmse|mse>``, ``persistence.<target>.<...>``, epochs and timings."""
    out: list[dict[str, Any] | None] = []
    for group in ("test", "persistence"):
        for target, values in (metrics_doc.get(group) or {}).items():
            out.extend(metric(f"{group}.{target}.{k}", v, 0, timestamp_ms) for k, v in values.items())
    out.append(metric("n_test_windows", metrics_doc.get("n_test_windows", 0), 0, timestamp_ms))
    out.append(metric("epochs", card.get("epochs", 0), 0, timestamp_ms))
    out.extend(metric(k, v, 0, timestamp_ms) for k, v in (card.get("timings") or {}).items())
    return [m for m in out if m is not None]


def result_params(card: Mapping[str, Any]) -> list[dict[str, str]]:
    hyper = card.get("hyperparameters") or {}
    return [param("features", ",".join(card.get("features") or []))] + [param(f"hp.{k}", v) for k, v in hyper.items()]


class TrackedRun:
    """The MLflow side of one training run; after the first failure every method does nothing."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.run_id: str | None = None
        self.artifact_uri = ""
        self.broken = False

    def _failed(self, step: str, exc: Exception) -> None:
        self.broken = True
        log.warn("mlflow_tracking_failed", step=step, error=str(exc), tracking_uri=self.client.base)

    def begin(self, spec: JobSpec, artifact_uri: str | None, experiment: str) -> None:
        try:
            experiment_id = self.client.experiment_id(experiment)
            self.run_id, self.artifact_uri = self.client.create_run(experiment_id, spec.run_id, now_ms(), start_tags(spec, artifact_uri))
            self.client.log_batch(self.run_id, params=start_params(spec))
            log.info("mlflow_run_started", mlflow_run_id=self.run_id, experiment_id=experiment_id)
        except Exception as exc:  # tracking never fails a run
            self._failed("start", exc)

    def epoch(self, rec: Mapping[str, float]) -> None:
        if self.broken or self.run_id is None:
            return
        try:
            self.client.log_batch(self.run_id, metrics=epoch_metrics(rec, now_ms()))
        except Exception as exc:  # tracking never fails a run
            self._failed("epoch", exc)

    def succeeded(self, card: Mapping[str, Any], metrics_doc: Mapping[str, Any], onnx_bytes: bytes) -> None:
        if self.broken or self.run_id is None:
            return
        try:
            self.client.log_batch(
                self.run_id,
                metrics=result_metrics(metrics_doc, card, now_ms()),
                params=result_params(card),
                tags=[tag("flts.device", str(card.get("device", "")))],
            )
            self.client.upload(self.artifact_uri, "model.onnx", onnx_bytes, "application/octet-stream")
            card_bytes = (json.dumps(card, indent=2, default=str) + "\n").encode()
            self.client.upload(self.artifact_uri, "model.json", card_bytes, "application/json")
            self.client.update_run(self.run_id, "FINISHED", now_ms())
        except Exception as exc:  # tracking never fails a run
            self._failed("finish", exc)
            # The training itself succeeded (S3 has it all): say what MLflow lacks.
            self._end("FINISHED", "flts.tracking_error", f"tracking incomplete: {exc}")

    def failed(self, error: str) -> None:
        if not self.broken and self.run_id is not None:
            self._end("FAILED", "flts.error", error)

    def _end(self, status: str, key: str, error: str) -> None:
        if self.run_id is None:
            return
        try:
            self.client.set_tag(self.run_id, key, error)
            self.client.update_run(self.run_id, status, now_ms())
        except Exception as exc:  # tracking never fails a run
            if not self.broken:
                self._failed("end", exc)


_active: TrackedRun | None = None


def start(
    spec: JobSpec, artifact_uri: str | None, env: Mapping[str, str] | None = None, transport: Transport | None = None
) -> TrackedRun | None:
    """Opens the MLflow run of ``spec`` when ``MLFLOW_TRACKING_URI`` is set; never raises."""
    global _active
    _active = None
    env = os.environ if env is None else env
    raw = env.get(ENV_URI, "").strip()
    if not raw:
        return None
    try:
        base = base_url(raw)
    except MlflowError as exc:
        log.warn("mlflow_tracking_failed", step="settings", error=str(exc))
        return None
    experiment = env.get(ENV_EXPERIMENT, "").strip() or DEFAULT_EXPERIMENT
    run = TrackedRun(Client(base, transport or urllib_transport))
    run.begin(spec, artifact_uri, experiment)
    _active = run
    return run


def epoch(rec: Mapping[str, float]) -> None:
    """The per-epoch hook (train.py's ``on_epoch``); nothing without an active run."""
    if _active is not None:
        _active.epoch(rec)


def succeeded(card: Mapping[str, Any], metrics_doc: Mapping[str, Any], onnx_bytes: bytes) -> None:
    if _active is not None:
        _active.succeeded(card, metrics_doc, onnx_bytes)


def failed(error: str) -> None:
    if _active is not None:
        _active.failed(error)


def close() -> None:
    global _active
    _active = None
