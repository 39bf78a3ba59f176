"""Jobs through MinIO: a full round trip, a bad job spec and a missing object (both end in _FAILED)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from conftest import parquet_bytes, s3_env, synthetic_frame
from flts_train.data import make_windows, read_parquet_bytes, validation_split
from flts_train.lambda_handler import handler
from flts_train.members import parse_validation
from flts_train.metrics import per_target
from flts_train.shape import Shape

SRC = str(Path(__file__).resolve().parents[1] / "src")
CONFIG_HASH = hashlib.sha256(b"flts-train-tests").hexdigest()


def job(bucket: str, run_id: str, model_type: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "v": 1,
        "run_id": run_id,
        "model_type": model_type,
        "identifier": "Synthetic",
        "config_hash": CONFIG_HASH,
        "training_data": {
            "bucket": bucket,
            "object_key": f"Synthetic/{CONFIG_HASH}/train.parquet",
            "test_object_key": f"Synthetic/{CONFIG_HASH}/test.parquet",
            "config_hash": CONFIG_HASH,
            "identifier": "Synthetic",
            "v": 1,
            "size": 1,
        },
        "artifacts": {"bucket": bucket, "prefix": f"runs/{run_id}/"},
        "params": params or {},
    }


def upload_data(s3: Any, bucket: str, time_as_epoch: bool = False) -> bytes:
    df = synthetic_frame(900, step=120.0, seed=21, gap_at=500)
    train, test = df.iloc[:700], df.iloc[700:]
    test_bytes = parquet_bytes(test, time_as_epoch)
    s3.put_object(Bucket=bucket, Key=f"Synthetic/{CONFIG_HASH}/train.parquet", Body=parquet_bytes(train, time_as_epoch))
    s3.put_object(Bucket=bucket, Key=f"Synthetic/{CONFIG_HASH}/test.parquet", Body=test_bytes)
    return test_bytes


def run_cli(spec: dict[str, Any], tmp_path: Path, via: str = "file", s3: Any = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **s3_env(), "PYTHONPATH": SRC}
    for k in ("FLTS_TRAIN_JOB", "FLTS_JOB_URI"):
        env.pop(k, None)
    args = [sys.executable, "-m", "flts_train", "run"]
    if via == "env":
        env["FLTS_TRAIN_JOB"] = json.dumps(spec)
    elif via == "uri":
        bucket, key = spec["artifacts"]["bucket"], spec["artifacts"]["prefix"] + "job.json"
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(spec).encode())
        env["FLTS_JOB_URI"] = f"s3://{bucket}/{key}"
    else:
        path = tmp_path / "job.json"
        path.write_text(json.dumps(spec))
        args += ["--job", str(path)]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def keys(s3: Any, bucket: str, prefix: str) -> set[str]:
    return {o["Key"][len(prefix) :] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}


def get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def log_lines(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_round_trip_gru_via_cli(s3: Any, bucket: str, tmp_path: Path) -> None:
    test_bytes = upload_data(s3, bucket)
    run_id = "20261123T060000Z-gru-roundtrip"
    spec = job(bucket, run_id, "GRU", {"window": 6, "horizon": 2, "max_epochs": 2, "seed": 1})
    proc = run_cli(spec, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    prefix = f"runs/{run_id}/"
    assert keys(s3, bucket, prefix) == {"model.onnx", "model.json", "metrics.json", "validation.npz", "_SUCCESS"}
    done = get_json(s3, bucket, prefix + "_SUCCESS")
    assert done["run_id"] == run_id and done["finished_at"].endswith("Z")
    card = get_json(s3, bucket, prefix + "model.json")
    assert card["v"] == 1 and card["run_id"] == run_id and card["model_type"] == "GRU"
    assert card["identifier"] == "Synthetic" and card["config_hash"] == CONFIG_HASH
    assert card["features"][:2] == ["down", "up"] and len(card["features"]) == 11
    assert (card["targets"], card["window"], card["horizon"], card["step_seconds"]) == (["down", "up"], 6, 2, 120.0)
    assert card["training_data"] == spec["training_data"]
    assert card["device"] == "cpu" and 1 <= card["epochs"] <= 2
    assert set(card["timings"]) == {"load_seconds", "train_seconds", "export_seconds", "total_seconds"}
    assert {"torch", "onnx", "onnxruntime", "prophet"} <= set(card["library_versions"])
    metrics = get_json(s3, bucket, prefix + "metrics.json")
    assert metrics["test"] == card["metrics"]["test"] and metrics["persistence"] == card["metrics"]["persistence"]
    assert card["quantiles"] == [0.1, 0.5, 0.9]
    assert all(len(metrics["per_step"][t]["mae"]) == 2 == len(metrics["persistence_per_step"][t]["rmse"]) for t in ("down", "up"))
    assert all(0 <= metrics["intervals"][t]["coverage"] <= 1 for t in ("down", "up"))
    # validation.npz: the fit-part model's predictions of the train windows' validation slice, as the card says
    n_train = make_windows(
        read_parquet_bytes(s3.get_object(Bucket=bucket, Key=spec["training_data"]["object_key"])["Body"].read(), "train"),
        Shape(6, 2, tuple(card["features"]), ("down", "up"), 120.0),
        360.0,
    ).x.shape[0]
    v = parse_validation(s3.get_object(Bucket=bucket, Key=prefix + "validation.npz")["Body"].read(), "validation.npz")
    assert v.start == validation_split(n_train) and v.y.shape == (n_train - v.start, 2, 2)
    assert card["validation"] == {"n_windows": n_train - v.start, "out_of_sample": v.out_of_sample}
    # The stored model reproduces the stored metrics from the raw test Parquet.
    series = read_parquet_bytes(test_bytes, "test")
    w = make_windows(series, Shape(6, 2, tuple(card["features"]), ("down", "up"), 120.0), 360.0)
    assert metrics["n_test_windows"] == w.x.shape[0] == (200 - 8 + 1)
    sess = ort.InferenceSession(s3.get_object(Bucket=bucket, Key=prefix + "model.onnx")["Body"].read())
    y = sess.run(["y"], {"x": w.x.astype(np.float32), "t": w.t})[0]
    recomputed = per_target(y, w.y, ("down", "up"))
    for target in ("down", "up"):
        for k in ("mae", "rmse", "mse"):
            assert abs(recomputed[target][k] - metrics["test"][target][k]) <= 1e-4 * metrics["test"][target][k]
    logs = log_lines(proc.stderr)
    assert len(logs) == len([line for line in proc.stderr.splitlines() if line.strip()]), "every stderr line is a JSON object"
    assert any(r["msg"] == "epoch" and r.get("run_id") == run_id for r in logs)
    assert all({"level", "msg"} <= set(r) for r in logs)
    assert logs[-1]["msg"] == "train_success"


def test_round_trip_prophet_via_lambda_handler_epoch_time(s3: Any, bucket: str) -> None:
    upload_data(s3, bucket, time_as_epoch=True)
    run_id = "20261123T060000Z-prophet-lambda"
    for k, v in s3_env().items():
        os.environ.setdefault(k, v)
    result = handler(job(bucket, run_id, "PROPHET"), None)
    assert result["status"] == "SUCCESS", result
    prefix = f"runs/{run_id}/"
    assert keys(s3, bucket, prefix) == {"model.onnx", "model.json", "metrics.json", "_SUCCESS"}
    card = get_json(s3, bucket, prefix + "model.json")
    assert card["model_type"] == "PROPHET" and card["epochs"] == 0


def test_bad_job_spec_ends_in_failed(s3: Any, bucket: str, tmp_path: Path) -> None:
    run_id = "20261123T060000Z-lstm-badspec"
    spec = job(bucket, run_id, "LSTM", {"window": -3})
    proc = run_cli(spec, tmp_path, via="env")
    assert proc.returncode != 0
    prefix = f"runs/{run_id}/"
    assert keys(s3, bucket, prefix) == {"_FAILED"}
    failed = get_json(s3, bucket, prefix + "_FAILED")
    assert failed["run_id"] == run_id and failed["model_type"] == "LSTM"
    assert "params.window" in failed["error"] and "must be between" in failed["error"]
    assert any(r["msg"] == "train_failed" and "params.window" in r["error"] for r in log_lines(proc.stderr))


def test_unknown_model_type_ends_in_failed(s3: Any, bucket: str) -> None:
    run_id = "20261123T060000Z-arima-bad"
    result = handler(job(bucket, run_id, "ARIMA"), None)
    assert result["status"] == "FAILED"
    failed = get_json(s3, bucket, f"runs/{run_id}/_FAILED")
    assert "model_type" in failed["error"] and "ARIMA" in failed["error"]


def test_missing_object_ends_in_failed(s3: Any, bucket: str, tmp_path: Path) -> None:
    run_id = "20261123T060000Z-gru-missing"
    proc = run_cli(job(bucket, run_id, "GRU"), tmp_path, via="uri", s3=s3)  # no data uploaded
    assert proc.returncode != 0
    prefix = f"runs/{run_id}/"
    assert keys(s3, bucket, prefix) == {"job.json", "_FAILED"}
    failed = get_json(s3, bucket, prefix + "_FAILED")
    assert failed["run_id"] == run_id and failed["model_type"] == "GRU"
    assert "not found" in failed["error"]
    assert f"s3://{bucket}/Synthetic/{CONFIG_HASH}/train.parquet" in failed["error"]
