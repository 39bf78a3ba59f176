"""The MLflow sink: request building (no server), a real job's records reaching a fake tracking
server, and tracking failures that never fail a training run (real jobs through MinIO)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flts_train import tracking
from flts_train.mlflow_rest import (
    MAX_PARAM_VALUE,
    Client,
    MlflowError,
    Request,
    api_request,
    artifact_request,
    base_url,
    log_batch_requests,
    metric,
    param,
)
from flts_train.runner import run_job
from test_jobs_minio import get_json, job, upload_data

BASE = "http://127.0.0.1:5999"


class FakeMlflow:
    """Answers like an MLflow tracking server and records every request; ``fail_on`` makes one endpoint fail."""

    def __init__(self, fail_on: str | None = None, fail_after: int = 0) -> None:
        self.requests: list[Request] = []
        self.fail_on = fail_on
        self.fail_after = fail_after
        self.experiments: dict[str, str] = {}

    def __call__(self, req: Request, timeout: float) -> tuple[int, bytes]:
        self.requests.append(req)
        endpoint = req.url.split("/api/2.0/", 1)[1].split("?", 1)[0]
        if self.fail_on and self.fail_on in endpoint:
            if self.fail_after <= 0:
                return 503, b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down for the test"}'
            self.fail_after -= 1
        if endpoint == "mlflow/experiments/get-by-name":
            name = req.url.split("experiment_name=", 1)[1]
            if name not in self.experiments:
                return 404, b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such experiment"}'
            return 200, json.dumps({"experiment": {"experiment_id": self.experiments[name]}}).encode()
        if endpoint == "mlflow/experiments/create":
            self.experiments[req.json()["name"]] = "7"
            return 200, b'{"experiment_id": "7"}'
        if endpoint == "mlflow/runs/create":
            info = {"run_id": "abc123", "artifact_uri": "mlflow-artifacts:/7/abc123/artifacts"}
            return 200, json.dumps({"run": {"info": info}}).encode()
        return 200, b"{}"

    def bodies(self, endpoint: str) -> list[Any]:
        return [r.json() for r in self.requests if r.url.endswith(endpoint)]

    def uploads(self) -> dict[str, bytes]:
        return {r.url.rsplit("/", 1)[1]: r.body or b"" for r in self.requests if r.method == "PUT"}


def test_tracking_uri_must_be_http() -> None:
    assert base_url(" http://127.0.0.1:5000/ ") == "http://127.0.0.1:5000"
    assert base_url("https://mlflow.example/prefix") == "https://mlflow.example/prefix"
    for bad in ("127.0.0.1:5000", "file:///tmp/mlruns", "databricks", "http://", "http://h:5000/?x=1"):
        with pytest.raises(MlflowError, match="MLFLOW_TRACKING_URI must be the http"):
            base_url(bad)


def test_requests_are_built_as_the_rest_api_wants() -> None:
    get = api_request(BASE, "experiments/get-by-name", query={"experiment_name": "flts x"})
    assert (get.method, get.url, get.body) == ("GET", f"{BASE}/api/2.0/mlflow/experiments/get-by-name?experiment_name=flts+x", None)
    post = api_request(BASE, "runs/update", {"run_id": "r", "status": "FINISHED", "end_time": 5})
    assert (post.method, post.content_type, post.json()) == (
        "POST",
        "application/json",
        {"run_id": "r", "status": "FINISHED", "end_time": 5},
    )
    assert metric("test.down.mae", float("nan"), 0, 1) is None
    assert metric("val loss(x)", 2, 3, 4) == {"key": "val loss_x_", "value": 2.0, "timestamp": 4, "step": 3}
    assert param("features", ["down", "up"]) == {"key": "features", "value": '["down", "up"]'}
    assert len(param("long", "x" * 10_000)["value"]) == MAX_PARAM_VALUE


def test_log_batch_stays_within_mlflow_limits() -> None:
    params = [param(f"p{i}", i) for i in range(150)]
    metrics = [m for i in range(1500) if (m := metric("loss", 1.0, i, 1)) is not None]
    assert len(metrics) == 1500
    reqs = log_batch_requests(BASE, "r", metrics=metrics, params=params, tags=[])
    bodies = [r.json() for r in reqs]
    assert all(len(b["params"]) + len(b["tags"]) <= 100 for b in bodies)
    assert all(len(b["params"]) + len(b["tags"]) + len(b["metrics"]) <= 1000 for b in bodies)
    assert sum(len(b["params"]) for b in bodies) == 150 and sum(len(b["metrics"]) for b in bodies) == 1500
    assert [m["step"] for b in bodies for m in b["metrics"]] == list(range(1500))
    assert log_batch_requests(BASE, "r") == []


def test_artifacts_go_through_the_servers_proxy() -> None:
    for uri in ("mlflow-artifacts:/7/abc/artifacts", "mlflow-artifacts://127.0.0.1:5000/7/abc/artifacts/"):
        req = artifact_request(BASE, uri, "model.onnx", b"\x00\x01", "application/octet-stream")
        assert (req.method, req.url, req.body) == (
            "PUT",
            f"{BASE}/api/2.0/mlflow-artifacts/artifacts/7/abc/artifacts/model.onnx",
            b"\x00\x01",
        )
    with pytest.raises(MlflowError, match="--serve-artifacts"):
        artifact_request(BASE, "s3://bucket/7/abc/artifacts", "model.onnx", b"", "application/octet-stream")


def test_an_experiment_created_meanwhile_is_found() -> None:
    calls: list[str] = []

    def racing(req: Request, timeout: float) -> tuple[int, bytes]:
        calls.append(req.url.rsplit("/", 1)[1].split("?")[0])
        if calls[-1] == "create":
            return 400, b'{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"}'
        if len(calls) == 1:
            return 404, b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "none"}'
        return 200, b'{"experiment": {"experiment_id": "3"}}'

    assert Client(BASE, racing).experiment_id("flts") == "3"
    assert calls == ["get-by-name", "create", "get-by-name"]


def test_a_job_logs_params_epochs_metrics_and_artifacts(s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    upload_data(s3, bucket)
    fake = FakeMlflow()
    monkeypatch.setattr(tracking, "urllib_transport", fake)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", BASE)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "flts-test")
    result = run_job(job(bucket, "20261123T060000Z-gru-track001", "GRU", {"max_epochs": 3}), s3)
    assert result.ok, result.error
    created = fake.bodies("runs/create")
    assert len(created) == 1 and created[0]["run_name"] == "20261123T060000Z-gru-track001"
    assert {"key": "flts.run_id", "value": "20261123T060000Z-gru-track001"} in created[0]["tags"]
    batches = fake.bodies("runs/log-batch")
    params = {p["key"]: p["value"] for b in batches for p in b["params"]}
    assert params["model_type"] == "GRU" and params["window"] == "10" and params["max_epochs"] == "3"
    assert params["features"].split(",")[:2] == ["down", "up"] and params["hp.hidden_size"] == "64"
    losses = [(m["key"], m["step"]) for b in batches for m in b["metrics"] if m["key"].endswith("_loss")]
    card = get_json(s3, bucket, "runs/20261123T060000Z-gru-track001/model.json")
    assert losses == [(k, e) for e in range(1, card["epochs"] + 1) for k in ("train_loss", "val_loss")]
    logged = {m["key"]: m["value"] for b in batches for m in b["metrics"]}
    stored = get_json(s3, bucket, "runs/20261123T060000Z-gru-track001/metrics.json")
    for target in ("down", "up"):
        for k in ("mae", "rmse", "mse"):
            assert logged[f"test.{target}.{k}"] == pytest.approx(stored["test"][target][k], rel=1e-12)
            assert logged[f"persistence.{target}.{k}"] == pytest.approx(stored["persistence"][target][k], rel=1e-12)
    uploads = fake.uploads()
    onnx = s3.get_object(Bucket=bucket, Key="runs/20261123T060000Z-gru-track001/model.onnx")["Body"].read()
    assert uploads["model.onnx"] == onnx and json.loads(uploads["model.json"])["run_id"] == card["run_id"]
    assert fake.bodies("runs/update")[-1]["status"] == "FINISHED"


def test_a_failing_job_marks_its_run_failed(s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMlflow()
    monkeypatch.setattr(tracking, "urllib_transport", fake)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", BASE)
    result = run_job(job(bucket, "20261123T060000Z-gru-track002", "GRU"), s3)  # no data uploaded
    assert not result.ok
    assert fake.bodies("runs/update")[-1]["status"] == "FAILED"
    error = [b for b in fake.bodies("runs/set-tag") if b["key"] == "flts.error"]
    assert error and "train.parquet" in error[0]["value"]


def test_tracking_failures_never_fail_training(
    s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_data(s3, bucket)
    fake = FakeMlflow(fail_on="runs/log-batch", fail_after=2)  # the params and epoch 1 pass, epoch 2 fails
    monkeypatch.setattr(tracking, "urllib_transport", fake)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", BASE)
    result = run_job(job(bucket, "20261123T060000Z-lstm-track003", "LSTM", {"max_epochs": 3}), s3)
    assert result.ok, result.error
    assert s3.get_object(Bucket=bucket, Key="runs/20261123T060000Z-lstm-track003/_SUCCESS")
    warnings = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "mlflow_tracking_failed" in line]
    assert [(w["level"], w["step"]) for w in warnings] == [("warn", "epoch")] and "503" in warnings[0]["error"]
    # After the failure the run stops talking to MLflow: three log-batch attempts, no upload, no update.
    assert len(fake.bodies("runs/log-batch")) == 3 and fake.uploads() == {} and fake.bodies("runs/update") == []


def test_an_unreachable_or_invalid_tracking_uri_only_warns(
    s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_data(s3, bucket)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")  # nothing listens on port 1
    assert run_job(job(bucket, "20261123T060000Z-prophet-track004", "PROPHET"), s3).ok
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "127.0.0.1:5000")
    assert run_job(job(bucket, "20261123T060000Z-prophet-track005", "PROPHET"), s3).ok
    warnings = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "mlflow_tracking_failed" in line]
    assert [w["step"] for w in warnings] == ["start", "settings"]
    assert "127.0.0.1:1" in warnings[0]["error"] and "MLFLOW_TRACKING_URI" in warnings[1]["error"]
