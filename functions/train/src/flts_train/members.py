"""An ENSEMBLE run's members from S3: each finished run's graph, card and stored validation predictions.

The member artifacts live in the job's artifacts bucket under ``runs/<member run_id>/``. A missing graph or card fails
the run (the evaluation named a run that did not finish); a missing or unreadable ``validation.npz`` only leaves the
member without validation predictions, for the strategy to exclude with the reason.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import s3io
from .models.base import Member, ValidationPredictions

VALIDATION_KEYS = ("y", "start", "out_of_sample")


def run_prefix(run_id: str) -> str:
    return f"runs/{run_id}/"


def parse_validation(data: bytes, source: str) -> ValidationPredictions:
    """``validation.npz`` (numpy savez: ``y`` [n_val, horizon, n_targets], ``start`` int, ``out_of_sample`` bool, optional
    ``components`` [c, n_val, horizon, n_targets] + ``component_names`` [c])."""
    if not data.startswith(b"PK"):
        raise ValueError(f"{source}: not a readable .npz file (not a zip archive)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # zipfile / numpy raise several types for a damaged file
        raise ValueError(f"{source}: not a readable .npz file ({exc})") from exc
    missing = [k for k in VALIDATION_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{source}: lacks {', '.join(missing)} (has {', '.join(arrays) or 'nothing'})")
    y, start, oos = arrays["y"], arrays["start"], arrays["out_of_sample"]
    if y.ndim != 3 or not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"{source}: y must be a float array [n_val, horizon, n_targets], got {y.dtype} {list(y.shape)}")
    if start.ndim != 0 or not np.issubdtype(start.dtype, np.integer) or int(start) < 0:
        raise ValueError(f"{source}: start must be a non-negative integer, got {start.dtype} {start.tolist()}")
    if oos.ndim != 0 or oos.dtype != np.bool_:
        raise ValueError(f"{source}: out_of_sample must be a boolean, got {oos.dtype} {oos.tolist()}")
    names, comps = _components(arrays, y.shape, source)
    return ValidationPredictions(start=int(start), y=y.astype(np.float32), out_of_sample=bool(oos), component_names=names, components=comps)


def _components(arrays: dict[str, np.ndarray], y_shape: tuple[int, ...], source: str) -> tuple[tuple[str, ...], np.ndarray | None]:
    """The optional ``components`` [c, n_val, horizon, n_targets] and ``component_names`` [c] (absent in older files)."""
    if "components" not in arrays and "component_names" not in arrays:
        return (), None
    if "components" not in arrays or "component_names" not in arrays:
        raise ValueError(f"{source}: components and component_names come together (has only one of them)")
    comps, names = arrays["components"], arrays["component_names"]
    if names.ndim != 1 or names.dtype.kind != "U" or len(set(names.tolist())) != names.size or names.size == 0:
        raise ValueError(f"{source}: component_names must be distinct strings, got {names.dtype} {names.tolist()}")
    if comps.shape != (names.size, *y_shape) or not np.issubdtype(comps.dtype, np.floating):
        raise ValueError(f"{source}: components must be a float array {[names.size, *y_shape]}, got {comps.dtype} {list(comps.shape)}")
    return tuple(str(n) for n in names.tolist()), comps.astype(np.float32)


def _card(data: bytes, source: str) -> dict[str, Any]:
    try:
        card = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from exc
    if not isinstance(card, dict):
        raise ValueError(f"{source}: not a JSON object")
    return card


def load_member(s3: Any, bucket: str, run_id: str, model_type: str) -> Member:
    prefix = run_prefix(run_id)
    onnx_bytes = s3io.get_bytes(s3, bucket, prefix + "model.onnx")
    card = _card(s3io.get_bytes(s3, bucket, prefix + "model.json"), s3io.uri(bucket, prefix + "model.json"))
    source = s3io.uri(bucket, prefix + "validation.npz")
    try:
        validation = parse_validation(s3io.get_bytes(s3, bucket, prefix + "validation.npz"), source)
    except s3io.ObjectMissing:
        return Member(run_id, model_type, onnx_bytes, card, None, f"no validation predictions ({source} does not exist)")
    except ValueError as exc:
        return Member(run_id, model_type, onnx_bytes, card, None, str(exc))
    return Member(run_id, model_type, onnx_bytes, card, validation)


def load_members(s3: Any, bucket: str, refs: Sequence[tuple[str, str]]) -> tuple[Member, ...]:
    """``refs``: (run_id, model_type) per member, in the job spec's order."""
    return tuple(load_member(s3, bucket, run_id, model_type) for run_id, model_type in refs)
