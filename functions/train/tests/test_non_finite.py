"""A run whose data, losses or predictions are not finite fails; it never ends in a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import frame_to_series, parquet_bytes, synthetic_frame
from flts_train import train as train_mod
from flts_train.data import DataError, Series
from flts_train.finite import NonFiniteError
from flts_train.models import rnn, rnn_fit
from flts_train.spec import Params
from flts_train.train import train_model
from test_jobs_minio import CONFIG_HASH, get_json, job, keys, log_lines, run_cli

PARAMS = Params(window=4, horizon=1, step_seconds=3600.0, gap_tolerance_seconds=5400.0, max_epochs=2, seed=3)
SMALL = {"hidden_size": 8}


def split(n: int = 300, at: int = 240) -> tuple[Series, Series]:
    s = frame_to_series(synthetic_frame(n, step=3600.0, seed=11))
    return (
        Series(times=s.times[:at], columns=s.columns, values=s.values[:at]),
        Series(times=s.times[at:], columns=s.columns, values=s.values[at:]),
    )


def strict_json(line: str) -> Any:
    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_a_value_beyond_float32_in_the_data_fails_naming_column_and_row() -> None:
    df = synthetic_frame(50, step=3600.0)
    df.loc[6, "down"] = 1e308
    with pytest.raises(DataError, match=r"column 'down' holds 1e\+308 at row 7, beyond the float32 range"):
        frame_to_series(df)


def test_a_diverging_model_fails_at_the_first_non_finite_training_loss(capfd: pytest.CaptureFixture[str]) -> None:
    train, test = split()
    with pytest.raises(NonFiniteError, match=r"GRU training loss at epoch 1 is (inf|nan), not finite"):
        train_model("GRU", train, test, PARAMS, {**SMALL, "lr": 1e30, "grad_clip": 0.0, "loss": "mse"})
    lines = [strict_json(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    epochs = [r for r in lines if r["msg"] == "epoch"]
    assert epochs and epochs[0]["train_loss"] in ("inf", "nan")  # logged as strings: the line stays JSON


def fake_loss(nan_when: Any) -> Any:
    """Fake: a Huber loss that turns NaN when ``nan_when(grad_enabled, call)`` says so."""
    calls = {"n": 0}

    def make(_hp: rnn.RnnHyper) -> Any:
        real = torch.nn.HuberLoss()

        def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            calls["n"] += 1
            value: torch.Tensor = real(pred, target)
            return value * float("nan") if nan_when(torch.is_grad_enabled(), calls["n"]) else value

        return loss

    return make


def test_fake_loss_a_non_finite_validation_loss_before_training_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rnn_fit, "_loss_fn", fake_loss(lambda grad, _n: not grad))
    train, test = split()
    with pytest.raises(NonFiniteError, match="GRU validation loss before training is nan"):
        train_model("GRU", train, test, PARAMS, SMALL)


def test_fake_loss_a_first_epoch_validation_loss_that_is_nan_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # the first no-grad call is the validation loss before training; every later one is NaN
    seen = {"val": 0}

    def nan_when(grad: bool, _n: int) -> bool:
        if grad:
            return False
        seen["val"] += 1
        return seen["val"] > 1

    monkeypatch.setattr(rnn_fit, "_loss_fn", fake_loss(nan_when))
    train, test = split()
    with pytest.raises(NonFiniteError, match="LSTM validation loss at epoch 1 is nan"):
        train_model("LSTM", train, test, PARAMS, SMALL)


def test_fake_onnx_non_finite_test_predictions_fail_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    real = train_mod.onnx_predict

    def poisoned(sess: Any, w: Any, batch: int = 4096) -> np.ndarray:
        out = real(sess, w, batch).copy()
        out[3, 0, 1] = np.nan
        return out

    monkeypatch.setattr(train_mod, "onnx_predict", poisoned)
    train, test = split()
    with pytest.raises(NonFiniteError, match=r"GRU test predictions \(ONNX\) hold 1 non-finite value\(s\) of \d+ \(up 1\)"):
        train_model("GRU", train, test, PARAMS, SMALL)


def test_epoch_log_records_carry_max_epochs(capfd: pytest.CaptureFixture[str]) -> None:
    train, test = split()
    outcome = train_model("GRU", train, test, PARAMS, SMALL)
    epochs = [strict_json(line) for line in capfd.readouterr().err.splitlines() if '"msg": "epoch"' in line]
    assert [r["epoch"] for r in epochs] == list(range(1, outcome.fitted.epochs + 1))
    assert all(r["max_epochs"] == 2 for r in epochs)


def test_a_job_on_data_beyond_float32_ends_in_failed_and_exits_non_zero(s3: Any, bucket: str, tmp_path: Path) -> None:
    df = synthetic_frame(400, step=120.0, seed=21)
    df.loc[10, "down"] = 1e308
    s3.put_object(Bucket=bucket, Key=f"Synthetic/{CONFIG_HASH}/train.parquet", Body=parquet_bytes(df.iloc[:300]))
    s3.put_object(Bucket=bucket, Key=f"Synthetic/{CONFIG_HASH}/test.parquet", Body=parquet_bytes(df.iloc[300:]))
    run_id = "20261123T060000Z-gru-huge"
    proc = run_cli(job(bucket, run_id, "GRU", {"max_epochs": 1}), tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert keys(s3, bucket, f"runs/{run_id}/") == {"_FAILED"}
    error = get_json(s3, bucket, f"runs/{run_id}/_FAILED")["error"]
    assert "column 'down' holds 1e+308 at row 11, beyond the float32 range" in error
    assert any(r["msg"] == "train_failed" for r in log_lines(proc.stderr))
