"""Job spec: parsing and validation (plain dataclasses, every error names the bad field)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

MODEL_TYPES = ("GRU", "LSTM", "PROPHET")
DEVICES = ("auto", "cpu", "cuda")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # also identifiers (as in the TS contracts)


class SpecError(ValueError):
    """A job spec that cannot be run; ``field`` is the dotted path of the offending field."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"invalid job spec: field '{field_name}' {problem}")
        self.field = field_name


@dataclass(frozen=True)
class TrainingData:
    """The ``training-data`` claim check (kept verbatim in the card)."""

    bucket: str
    object_key: str
    test_object_key: str
    config_hash: str
    identifier: str
    v: int = 1
    size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def claim_check(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        if out["size"] is None:
            del out["size"]
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Artifacts:
    bucket: str
    prefix: str


@dataclass(frozen=True)
class Params:
    window: int = 10
    horizon: int = 1
    targets: tuple[str, ...] = ("down", "up")
    features: tuple[str, ...] | None = None
    step_seconds: float = 120.0
    gap_tolerance_seconds: float = 360.0
    max_epochs: int | None = None
    seed: int = 42
    device: str = "auto"


@dataclass(frozen=True)
class JobSpec:
    v: int
    run_id: str
    model_type: str
    identifier: str
    config_hash: str
    training_data: TrainingData
    artifacts: Artifacts
    params: Params


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(name, f"must be an object, got {type(value).__name__}")
    return value


def _str(d: dict[str, Any], key: str, path: str, pattern: re.Pattern[str] | None = None) -> str:
    name = f"{path}{key}"
    if key not in d:
        raise SpecError(name, "is required")
    value = d[key]
    if not isinstance(value, str) or not value.strip():
        raise SpecError(name, "must be a non-empty string")
    if pattern is not None and not pattern.match(value):
        raise SpecError(name, f"has an invalid value {value!r} (expected {pattern.pattern})")
    return value


def _int(value: Any, name: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise SpecError(name, f"must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise SpecError(name, f"must be {bound}, got {value}")
    return value


def _num(value: Any, name: str, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(name, f"must be a number, got {value!r}")
    if not value > minimum:
        raise SpecError(name, f"must be > {minimum}, got {value}")
    return float(value)


def _names(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise SpecError(name, "must be a non-empty list of column names")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise SpecError(f"{name}[{i}]", "must be a non-empty string")
    if len(set(value)) != len(value):
        raise SpecError(name, "must not repeat a column")
    if "time" in value:
        raise SpecError(name, "must not contain 'time'")
    return tuple(value)


def parse_params(raw: Any) -> Params:
    if raw is None:
        return Params()
    d = _obj(raw, "params")
    known = set(Params.__dataclass_fields__)
    for key in d:
        if key not in known:
            raise SpecError(f"params.{key}", "is not a known parameter")
    p = Params()
    kw: dict[str, Any] = {}
    if d.get("window") is not None:
        kw["window"] = _int(d["window"], "params.window", 1, 10_000)
    if d.get("horizon") is not None:
        kw["horizon"] = _int(d["horizon"], "params.horizon", 1, 10_000)
    if d.get("targets") is not None:
        kw["targets"] = _names(d["targets"], "params.targets")
    if d.get("features") is not None:
        kw["features"] = _names(d["features"], "params.features")
    if d.get("step_seconds") is not None:
        kw["step_seconds"] = _num(d["step_seconds"], "params.step_seconds", 0)
    if d.get("gap_tolerance_seconds") is not None:
        kw["gap_tolerance_seconds"] = _num(d["gap_tolerance_seconds"], "params.gap_tolerance_seconds", 0)
    if d.get("max_epochs") is not None:
        kw["max_epochs"] = _int(d["max_epochs"], "params.max_epochs", 1, 100_000)
    if d.get("seed") is not None:
        kw["seed"] = _int(d["seed"], "params.seed", 0, 2**32 - 1)
    if d.get("device") is not None:
        dev = d["device"]
        if dev not in DEVICES:
            raise SpecError("params.device", f"must be one of {', '.join(DEVICES)}, got {dev!r}")
        kw["device"] = dev
    out = Params(**{**asdict(p), **kw})
    if out.features is not None:
        missing = [t for t in out.targets if t not in out.features]
        if missing:
            raise SpecError("params.features", f"must include every target (missing {', '.join(missing)})")
    if out.gap_tolerance_seconds < out.step_seconds:
        raise SpecError("params.gap_tolerance_seconds", "must be >= params.step_seconds")
    return out


def parse_job(raw: Any) -> JobSpec:
    """Validates a job spec (already decoded from JSON) and returns it typed."""
    d = _obj(raw, "(root)")
    v = d.get("v")
    if v != 1:
        raise SpecError("v", f"must be 1, got {v!r}")
    run_id = _str(d, "run_id", "", _RUN_ID)
    model_type = _str(d, "model_type", "")
    if model_type not in MODEL_TYPES:
        raise SpecError("model_type", f"must be one of {', '.join(MODEL_TYPES)}, got {model_type!r}")
    identifier = _str(d, "identifier", "", _RUN_ID)
    config_hash = _str(d, "config_hash", "", _HEX64)

    if "training_data" not in d:
        raise SpecError("training_data", "is required")
    td = _obj(d["training_data"], "training_data")
    known_td = {"bucket", "object_key", "test_object_key", "config_hash", "identifier", "v", "size"}
    size = td.get("size")
    if size is not None:
        size = _int(size, "training_data.size", 0)
    td_v = td.get("v", 1)
    if td_v != 1:
        raise SpecError("training_data.v", f"must be 1, got {td_v!r}")
    training_data = TrainingData(
        bucket=_str(td, "bucket", "training_data."),
        object_key=_str(td, "object_key", "training_data."),
        test_object_key=_str(td, "test_object_key", "training_data."),
        config_hash=_str(td, "config_hash", "training_data.", _HEX64),
        identifier=_str(td, "identifier", "training_data.", _RUN_ID),
        v=1,
        size=size,
        extra={k: val for k, val in td.items() if k not in known_td},
    )
    if training_data.config_hash != config_hash:
        raise SpecError("training_data.config_hash", "must equal config_hash")

    if "artifacts" not in d:
        raise SpecError("artifacts", "is required")
    ad = _obj(d["artifacts"], "artifacts")
    prefix = ad.get("prefix")
    if not isinstance(prefix, str) or not prefix or prefix.startswith("/"):
        raise SpecError("artifacts.prefix", "must be a non-empty key prefix not starting with '/'")
    if not prefix.endswith("/"):
        prefix += "/"
    artifacts = Artifacts(bucket=_str(ad, "bucket", "artifacts."), prefix=prefix)

    params = parse_params(d.get("params"))
    return JobSpec(
        v=1,
        run_id=run_id,
        model_type=model_type,
        identifier=identifier,
        config_hash=config_hash,
        training_data=training_data,
        artifacts=artifacts,
        params=params,
    )


def best_effort_ids(raw: Any) -> tuple[str | None, str | None, tuple[str, str] | None]:
    """(run_id, model_type, (bucket, prefix)) from a spec that may not validate, to write ``_FAILED``."""
    if not isinstance(raw, dict):
        return None, None, None
    run_id = raw.get("run_id") if isinstance(raw.get("run_id"), str) else None
    model_type = raw.get("model_type") if isinstance(raw.get("model_type"), str) else None
    art = raw.get("artifacts")
    dest = None
    if isinstance(art, dict) and isinstance(art.get("bucket"), str) and isinstance(art.get("prefix"), str):
        if art["bucket"] and art["prefix"] and not art["prefix"].startswith("/"):
            prefix = art["prefix"] if art["prefix"].endswith("/") else art["prefix"] + "/"
            dest = (art["bucket"], prefix)
    return run_id, model_type, dest
