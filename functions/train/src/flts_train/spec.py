"""Job spec: parsing and validation (plain dataclasses, every error names the bad field).

The mirror of ``TrainerJobSpec`` in functions/common/contracts.ts: both accept and refuse the same JSON
(test/fixtures/job-specs.json, checked by tests/test_spec_parity.py and test/unit/job-spec-parity.test.ts).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from typing import Any

# The contracts' MODEL_TYPES (functions/common/contracts/fields.ts); models.STRATEGIES has a strategy for each.
MODEL_TYPES = ("GRU", "LSTM", "PROPHET", "LINEAR", "GBDT", "ENSEMBLE")
ENSEMBLE = "ENSEMBLE"
DEVICES = ("auto", "cpu", "cuda")
MAX_QUANTILES = 9
ENSEMBLE_MEMBERS = (2, 8)
# Patterns match the whole value (re.fullmatch), as the zod contract's do.
_HEX64 = re.compile(r"[0-9a-f]{64}")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # also identifiers
_RUN_PREFIX = re.compile(r"runs/[^/]+/")
_GENERATION = re.compile(r"[0-9a-f]{16}")
_MAX_SAFE_INT = 2**53 - 1  # JSON numbers beyond this are not integers to the TS side


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
    v: int
    size: int
    extra: dict[str, Any] = field(default_factory=dict)

    def claim_check(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
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
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class EnsembleMember:
    run_id: str
    model_type: str


@dataclass(frozen=True)
class EnsembleSpec:
    """What an ENSEMBLE run combines: distinct runs of one evaluation generation."""

    generation: str
    members: tuple[EnsembleMember, ...]


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
    ensemble: EnsembleSpec | None = None


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(name, f"must be an object, got {type(value).__name__}")
    return value


def _required(d: dict[str, Any], key: str, path: str) -> Any:
    if key not in d:
        raise SpecError(f"{path}{key}", "is required")
    return d[key]


def _str(d: dict[str, Any], key: str, path: str, pattern: re.Pattern[str] | None = None) -> str:
    name = f"{path}{key}"
    value = _required(d, key, path)
    if not isinstance(value, str) or not value:
        raise SpecError(name, "must be a non-empty string")
    if pattern is not None and not pattern.fullmatch(value):
        raise SpecError(name, f"has an invalid value {value!r} (expected {pattern.pattern})")
    return value


def _one(value: Any, name: str) -> int:
    """The format version: the number 1."""
    if isinstance(value, bool) or value != 1:
        raise SpecError(name, f"must be 1, got {value!r}")
    return 1


def _int(value: Any, name: str, minimum: int, maximum: int = _MAX_SAFE_INT) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(name, f"must be an integer, got {value!r}")
    if value < minimum or value > maximum:
        bound = f">= {minimum}" if maximum == _MAX_SAFE_INT else f"between {minimum} and {maximum}"
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


def _device(value: Any, name: str) -> str:
    if value not in DEVICES:
        raise SpecError(name, f"must be one of {', '.join(DEVICES)}, got {value!r}")
    return str(value)


def _quantiles(value: Any, name: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_QUANTILES:
        raise SpecError(name, f"must be a list of 1 to {MAX_QUANTILES} quantile levels, got {value!r}")
    for i, q in enumerate(value):
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise SpecError(f"{name}[{i}]", f"must be a number strictly between 0 and 1, got {q!r}")
    if any(b <= a for a, b in pairwise(value)):
        raise SpecError(name, f"must be strictly ascending, got {value!r}")
    return tuple(float(q) for q in value)


# How each parameter is read; ``None`` is a value only where the contract allows null.
_PARAMS: dict[str, Callable[[Any, str], Any]] = {
    "window": lambda v, n: _int(v, n, 1, 10_000),
    "horizon": lambda v, n: _int(v, n, 1, 10_000),
    "targets": _names,
    "features": lambda v, n: None if v is None else _names(v, n),
    "step_seconds": lambda v, n: _num(v, n, 0),
    "gap_tolerance_seconds": lambda v, n: _num(v, n, 0),
    "max_epochs": lambda v, n: None if v is None else _int(v, n, 1, 100_000),
    "seed": lambda v, n: _int(v, n, 0, 2**32 - 1),
    "device": _device,
    "quantiles": _quantiles,
}


def parse_params(raw: Any) -> Params:
    d = _obj(raw, "params")
    for key in d:
        if key not in _PARAMS:
            raise SpecError(f"params.{key}", "is not a known parameter")
    out = replace(Params(), **{key: _PARAMS[key](value, f"params.{key}") for key, value in d.items()})
    if out.features is not None:
        missing = [t for t in out.targets if t not in out.features]
        if missing:
            raise SpecError("params.features", f"must include every target (missing {', '.join(missing)})")
    if out.gap_tolerance_seconds < out.step_seconds:
        raise SpecError("params.gap_tolerance_seconds", "must be >= params.step_seconds")
    return out


def _training_data(d: dict[str, Any], config_hash: str) -> TrainingData:
    path = "training_data."
    td = _obj(_required(d, "training_data", ""), "training_data")
    known = {"bucket", "object_key", "test_object_key", "config_hash", "identifier", "v", "size"}
    out = TrainingData(
        bucket=_str(td, "bucket", path),
        object_key=_str(td, "object_key", path),
        test_object_key=_str(td, "test_object_key", path),
        config_hash=_str(td, "config_hash", path, _HEX64),
        identifier=_str(td, "identifier", path, _RUN_ID),
        v=_one(_required(td, "v", path), "training_data.v"),
        size=_int(_required(td, "size", path), "training_data.size", 0),
        extra={k: val for k, val in td.items() if k not in known},
    )
    if out.config_hash != config_hash:
        raise SpecError("training_data.config_hash", "must equal config_hash")
    return out


def _artifacts(d: dict[str, Any]) -> Artifacts:
    ad = _obj(_required(d, "artifacts", ""), "artifacts")
    return Artifacts(bucket=_str(ad, "bucket", "artifacts."), prefix=_str(ad, "prefix", "artifacts.", _RUN_PREFIX))


def _ensemble_member(raw: Any, path: str) -> EnsembleMember:
    m = _obj(raw, path)
    model_type = _str(m, "model_type", f"{path}.")
    if model_type not in MODEL_TYPES:
        raise SpecError(f"{path}.model_type", f"must be one of {', '.join(MODEL_TYPES)}, got {model_type!r}")
    if model_type == ENSEMBLE:
        raise SpecError(f"{path}.model_type", "must not be ENSEMBLE (an ensemble cannot be a member of an ensemble)")
    return EnsembleMember(run_id=_str(m, "run_id", f"{path}.", _RUN_ID), model_type=model_type)


def _ensemble(raw: Any) -> EnsembleSpec:
    d = _obj(raw, "ensemble")
    generation = _str(d, "generation", "ensemble.", _GENERATION)
    members = _required(d, "members", "ensemble.")
    low, high = ENSEMBLE_MEMBERS
    if not isinstance(members, list) or not low <= len(members) <= high:
        raise SpecError("ensemble.members", f"must be a list of {low} to {high} members")
    out = tuple(_ensemble_member(m, f"ensemble.members[{i}]") for i, m in enumerate(members))
    if len({m.run_id for m in out}) != len(out):
        raise SpecError("ensemble.members", "must not repeat a run_id")
    return EnsembleSpec(generation, out)


def parse_job(raw: Any) -> JobSpec:
    """Validates a job spec (already decoded from JSON) and returns it typed."""
    d = _obj(raw, "(root)")
    _one(d.get("v"), "v")
    run_id = _str(d, "run_id", "", _RUN_ID)
    model_type = _str(d, "model_type", "")
    if model_type not in MODEL_TYPES:
        raise SpecError("model_type", f"must be one of {', '.join(MODEL_TYPES)}, got {model_type!r}")
    identifier = _str(d, "identifier", "", _RUN_ID)
    config_hash = _str(d, "config_hash", "", _HEX64)
    training_data = _training_data(d, config_hash)
    artifacts = _artifacts(d)
    params = parse_params(d["params"]) if "params" in d else Params()
    if model_type == ENSEMBLE and "ensemble" not in d:
        raise SpecError("ensemble", "is required when model_type is ENSEMBLE")
    if model_type != ENSEMBLE and "ensemble" in d:
        raise SpecError("ensemble", f"is only for model_type ENSEMBLE, not {model_type}")
    ensemble = _ensemble(d["ensemble"]) if "ensemble" in d else None
    return JobSpec(1, run_id, model_type, identifier, config_hash, training_data, artifacts, params, ensemble)


def best_effort_ids(raw: Any) -> tuple[str | None, str | None, tuple[str, str] | None]:
    """(run_id, model_type, (bucket, prefix)) from a spec that may not validate, to write ``_FAILED``."""
    if not isinstance(raw, dict):
        return None, None, None
    run_id = raw.get("run_id") if isinstance(raw.get("run_id"), str) else None
    model_type = raw.get("model_type") if isinstance(raw.get("model_type"), str) else None
    art = raw.get("artifacts")
    dest = None
    bucket = art.get("bucket") if isinstance(art, dict) else None
    prefix = art.get("prefix") if isinstance(art, dict) else None
    if isinstance(bucket, str) and isinstance(prefix, str) and bucket and prefix and not prefix.startswith("/"):
        dest = (bucket, prefix if prefix.endswith("/") else prefix + "/")
    return run_id, model_type, dest
