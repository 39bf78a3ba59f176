"""Job spec validation: defaults, and errors that name the offending field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flts_train.spec import SpecError, parse_job

H = "a" * 64


def valid() -> dict[str, Any]:
    return {
        "v": 1,
        "run_id": "20261123T060000Z-gru-ab12cd34",
        "model_type": "GRU",
        "identifier": "PobleSec",
        "config_hash": H,
        "training_data": {
            "bucket": "processed-data",
            "object_key": f"PobleSec/{H}/train.parquet",
            "test_object_key": f"PobleSec/{H}/test.parquet",
            "config_hash": H,
            "identifier": "PobleSec",
            "v": 1,
            "size": 123,
        },
        "artifacts": {"bucket": "model-artifacts", "prefix": "runs/20261123T060000Z-gru-ab12cd34/"},
    }


def test_defaults_when_params_absent() -> None:
    spec = parse_job(valid())
    p = spec.params
    assert (p.window, p.horizon, p.targets, p.features, p.step_seconds) == (10, 1, ("down", "up"), None, 120.0)
    assert (p.gap_tolerance_seconds, p.max_epochs, p.seed, p.device) == (360.0, None, 42, "auto")
    assert spec.training_data.claim_check()["size"] == 123


def test_params_are_parsed() -> None:
    raw = valid()
    raw["params"] = {"window": 24, "horizon": 3, "targets": ["down"], "features": ["down", "up"], "max_epochs": 5, "device": "cpu"}
    p = parse_job(raw).params
    assert (p.window, p.horizon, p.targets, p.features, p.max_epochs, p.device) == (24, 3, ("down",), ("down", "up"), 5, "cpu")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(model_type="ARIMA"), "model_type"),
        (lambda d: d.pop("run_id"), "run_id"),
        (lambda d: d.update(config_hash="xyz"), "config_hash"),
        (lambda d: d.update(v=2), "v"),
        (lambda d: d["training_data"].pop("object_key"), "training_data.object_key"),
        (lambda d: d["training_data"].update(config_hash="b" * 64), "training_data.config_hash"),
        (lambda d: d["artifacts"].update(prefix=""), "artifacts.prefix"),
        (lambda d: d.update(params={"window": 0}), "params.window"),
        (lambda d: d.update(params={"horizon": "3"}), "params.horizon"),
        (lambda d: d.update(params={"targets": []}), "params.targets"),
        (lambda d: d.update(params={"device": "tpu"}), "params.device"),
        (lambda d: d.update(params={"features": ["up"]}), "params.features"),
        (lambda d: d.update(params={"learning_rate": 1}), "params.learning_rate"),
    ],
)
def test_bad_field_is_named(mutate: Any, field: str) -> None:
    raw = copy.deepcopy(valid())
    mutate(raw)
    with pytest.raises(SpecError) as info:
        parse_job(raw)
    assert info.value.field == field
    assert f"'{field}'" in str(info.value)
