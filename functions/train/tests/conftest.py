"""Shared fixtures: synthetic series, Parquet in the preprocess layout, and a MinIO bucket."""

from __future__ import annotations

import io
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flts_train.data import Series

COLUMNS = ["down", "up", "rnti_count", "mcs_down", "mcs_down_var", "mcs_up", "mcs_up_var", "rb_down", "rb_down_var", "rb_up", "rb_up_var"]
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def synthetic_frame(n: int, step: float = 3600.0, seed: int = 0, gap_at: int | None = None) -> pd.DataFrame:
    """A daily-seasonal multivariate series shaped like the reference data (time + 11 numeric columns)."""
    rng = np.random.default_rng(seed)
    times = T0 + step * np.arange(n, dtype=np.float64)
    if gap_at is not None:
        times[gap_at:] += 6 * step
    phase = 2 * np.pi * (times % 86400.0) / 86400.0
    season = np.sin(phase) + 0.5 * np.cos(2 * phase)
    down = np.exp(17.0 + 0.8 * season + 0.25 * rng.standard_normal(n))
    up = np.exp(14.0 + 0.6 * season + 0.25 * rng.standard_normal(n))
    users = 3000 + 1500 * season + 150 * rng.standard_normal(n)
    data: dict[str, Any] = {"time": pd.to_datetime(np.round(times * 1e6).astype("int64"), unit="us")}
    data["down"] = down
    data["up"] = up
    data["rnti_count"] = np.maximum(users, 0.0)
    for i, c in enumerate(COLUMNS[3:]):
        data[c] = 10 + season * (i + 1) * 0.1 + 0.1 * rng.standard_normal(n)
    return pd.DataFrame(data)


def frame_to_series(df: pd.DataFrame) -> Series:
    from flts_train.data import frame_to_series as f2s

    return f2s(df, "synthetic")


def parquet_bytes(df: pd.DataFrame, time_as_epoch: bool = False) -> bytes:
    """Parquet as the TS preprocess writes it: ``time`` TIMESTAMP(us) without zone, then DOUBLE columns."""
    cols = {}
    if time_as_epoch:
        cols["time"] = pa.array(df["time"].astype("int64").to_numpy() // 10**9, type=pa.int64())
    else:
        cols["time"] = pa.array(df["time"].to_numpy().astype("datetime64[us]"), type=pa.timestamp("us"))
    for c in df.columns:
        if c != "time":
            cols[c] = pa.array(df[c].to_numpy(dtype=np.float64), type=pa.float64())
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    return buf.getvalue()


def s3_env() -> dict[str, str]:
    return {
        "FLTS_S3_ENDPOINT": os.environ.get("FLTS_S3_ENDPOINT", "http://127.0.0.1:9000"),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "minioadmin"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "minioadmin"),
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
    }


@pytest.fixture(scope="session")
def s3() -> Any:
    """A boto3 client for the MinIO the test runner started (fails, never skips, when it is not up)."""
    for k, v in s3_env().items():
        os.environ.setdefault(k, v)
    from flts_train import s3io

    client = s3io.client()
    client.list_buckets()  # raises a clear connection error when MinIO is not running
    return client


@pytest.fixture()
def bucket(s3: Any) -> Iterator[str]:
    """A fresh bucket per test (not one of the pipeline's buckets, so no notification fires)."""
    name = f"flts-train-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    objs = s3.list_objects_v2(Bucket=name).get("Contents", [])
    for o in objs:
        s3.delete_object(Bucket=name, Key=o["Key"])
    s3.delete_bucket(Bucket=name)
