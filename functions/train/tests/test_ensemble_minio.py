"""ENSEMBLE members through MinIO: members.py reads runs/<id>/{model.onnx, model.json, validation.npz}; a whole run."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from conftest import parquet_bytes, synthetic_frame
from flts_train import s3io
from flts_train.data import read_parquet_bytes
from flts_train.members import load_members
from flts_train.models.base import Member
from flts_train.runner import run_job
from test_ensemble import ridge_member, shape_of
from test_jobs_minio import CONFIG_HASH, get_json, job, keys


def upload_member(s3: Any, bucket: str, member: Member, validation: bytes | None = None) -> None:
    prefix = f"runs/{member.run_id}/"
    s3.put_object(Bucket=bucket, Key=prefix + "model.onnx", Body=member.onnx_bytes)
    s3.put_object(Bucket=bucket, Key=prefix + "model.json", Body=json.dumps(member.card).encode())
    v = member.validation
    if validation is None and v is not None:
        buf = io.BytesIO()
        np.savez(buf, y=v.y, start=np.int64(v.start), out_of_sample=np.bool_(v.out_of_sample))
        validation = buf.getvalue()
    if validation is not None:
        s3.put_object(Bucket=bucket, Key=prefix + "validation.npz", Body=validation)


def upload_series(s3: Any, bucket: str) -> bytes:
    """The train and test Parquet of ``job()``; returns the train bytes."""
    df = synthetic_frame(900, step=120.0, seed=21)
    train = parquet_bytes(df.iloc[:700])
    s3.put_object(Bucket=bucket, Key=f"Synthetic/{CONFIG_HASH}/train.parquet", Body=train)
    s3.put_object(Bucket=bucket, Key=f"Synthetic/{CONFIG_HASH}/test.parquet", Body=parquet_bytes(df.iloc[700:]))
    return train


def members_for(train_bytes: bytes) -> tuple[Member, Member]:
    train = read_parquet_bytes(train_bytes, "train")
    shape = shape_of(train)
    targets_only = [shape.features.index(t) for t in shape.targets]
    return ridge_member(train, shape, "lin-a", targets_only, 1.0), ridge_member(train, shape, "lin-b", list(range(shape.n_features)), 30.0)


def ensemble_job(bucket: str, run_id: str, members: list[tuple[str, str]]) -> dict[str, Any]:
    spec = job(bucket, run_id, "ENSEMBLE", {"window": 8, "horizon": 5})
    spec["ensemble"] = {"generation": "0123456789abcdef", "members": [{"run_id": r, "model_type": t} for r, t in members]}
    return spec


def test_members_load_with_their_validation_predictions(s3: Any, bucket: str) -> None:
    a, b = members_for(upload_series(s3, bucket))
    upload_member(s3, bucket, a)
    upload_member(s3, bucket, b, validation=b"not a zip")
    upload_member(s3, bucket, Member("lin-c", "LINEAR", a.onnx_bytes, a.card, None))
    loaded = load_members(s3, bucket, [("lin-a", "LINEAR"), ("lin-b", "LINEAR"), ("lin-c", "GBDT")])
    assert [(m.run_id, m.model_type) for m in loaded] == [("lin-a", "LINEAR"), ("lin-b", "LINEAR"), ("lin-c", "GBDT")]
    first = loaded[0]
    assert first.onnx_bytes == a.onnx_bytes and first.card == a.card and first.validation_problem is None
    assert first.validation is not None and a.validation is not None
    assert first.validation.start == a.validation.start and first.validation.out_of_sample
    assert np.array_equal(first.validation.y, a.validation.y)
    assert loaded[1].validation is None and "not a readable .npz" in str(loaded[1].validation_problem)
    assert loaded[2].validation is None
    assert f"s3://{bucket}/runs/lin-c/validation.npz does not exist" in str(loaded[2].validation_problem)


def test_a_validation_file_without_its_fields_is_reported(s3: Any, bucket: str) -> None:
    a, _ = members_for(upload_series(s3, bucket))
    buf = io.BytesIO()
    np.savez(buf, y=np.zeros((3, 5, 2), dtype=np.float32))
    upload_member(s3, bucket, a, validation=buf.getvalue())
    (loaded,) = load_members(s3, bucket, [("lin-a", "LINEAR")])
    assert loaded.validation is None and "lacks start, out_of_sample" in str(loaded.validation_problem)


def test_a_member_without_a_graph_fails_the_load(s3: Any, bucket: str) -> None:
    with pytest.raises(s3io.ObjectMissing, match=f"s3://{bucket}/runs/gone/model.onnx"):
        load_members(s3, bucket, [("gone", "GRU")])


def test_an_ensemble_run_combines_its_members(s3: Any, bucket: str) -> None:
    a, b = members_for(upload_series(s3, bucket))
    upload_member(s3, bucket, a)
    upload_member(s3, bucket, b)
    upload_member(s3, bucket, Member("lin-c", "LINEAR", a.onnx_bytes, a.card, None))
    result = run_job(ensemble_job(bucket, "ens-1", [("lin-a", "LINEAR"), ("lin-b", "LINEAR"), ("lin-c", "LINEAR")]), s3)
    assert result.ok, result.error
    assert {"model.onnx", "model.json", "metrics.json", "validation.npz", "_SUCCESS"} <= keys(s3, bucket, "runs/ens-1/")
    card = get_json(s3, bucket, "runs/ens-1/model.json")
    assert card["model_type"] == "ENSEMBLE" and card["quantiles"] == [0.1, 0.5, 0.9]
    assert a.validation is not None and card["validation"] == {"n_windows": a.validation.y.shape[0], "out_of_sample": False}
    assert card["hyperparameters"]["members"] == [{"run_id": "lin-a", "model_type": "LINEAR"}, {"run_id": "lin-b", "model_type": "LINEAR"}]
    assert [e["run_id"] for e in card["hyperparameters"]["excluded"]] == ["lin-c"]
    with np.load(io.BytesIO(s3.get_object(Bucket=bucket, Key="runs/ens-1/validation.npz")["Body"].read())) as npz:
        assert not bool(npz["out_of_sample"])
        assert a.validation is not None and int(npz["start"]) == a.validation.start


def test_an_ensemble_run_with_one_usable_member_fails_naming_why(s3: Any, bucket: str) -> None:
    a, _ = members_for(upload_series(s3, bucket))
    upload_member(s3, bucket, a)
    upload_member(s3, bucket, Member("lin-c", "LINEAR", a.onnx_bytes, a.card, None))
    result = run_job(ensemble_job(bucket, "ens-2", [("lin-a", "LINEAR"), ("lin-c", "LINEAR")]), s3)
    assert not result.ok
    failed = get_json(s3, bucket, "runs/ens-2/_FAILED")
    assert "at least 2 usable members, 1 of 2" in failed["error"]
    assert "lin-c (LINEAR): no validation predictions" in failed["error"]
