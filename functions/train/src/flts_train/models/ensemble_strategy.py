"""ENSEMBLE: finished runs' graphs weighted per step and target by their out-of-sample validation predictions.

Nothing is trained here. The members' stored validation predictions (their fit-part models on the last train windows,
``data.validation_split``) against those windows' truth give the weights (ensemble_weights) and then the conformal
offsets of the ensemble's own validation residuals; the graph (ensemble_graph) combines the members' refitted graphs.
Test data is never seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from .. import log
from ..data import Windows, validation_split
from . import conformal, ensemble_graph, ensemble_weights
from .base import FitJob, Fitted, Member, ValidationPredictions, timed

MIN_MEMBERS = 2


class EnsembleError(ValueError):
    """An ENSEMBLE run that cannot be built from its members."""


@dataclass(frozen=True)
class Usable:
    member: Member
    model: onnx.ModelProto
    validation: ValidationPredictions

    def units(self) -> list[tuple[str, np.ndarray]]:
        """The graph outputs this member is weighted by and their validation predictions [n_val, h, k]: its components
        when the stored validation predictions name them and the graph has them all, else its ``y``."""
        v = self.validation
        outputs = {o.name for o in self.model.graph.output}
        if v.components is None or not v.component_names or not set(v.component_names) <= outputs:
            return [("y", v.y)]
        return list(zip(v.component_names, v.components, strict=True))


def _session(model_bytes: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes, sess_options=opts, providers=["CPUExecutionProvider"])


def _card_mismatch(card: dict[str, Any], job: FitJob) -> str | None:
    s = job.shape
    expected = {"window": s.window, "horizon": s.horizon, "targets": list(s.targets), "features": list(s.features)}
    for key, want in expected.items():
        if card.get(key) != want:
            return f"its card's {key} is {card.get(key)!r}, this run's is {want!r}"
    return None


def exclusion(member: Member, job: FitJob, start: int, n_val: int) -> tuple[str | None, onnx.ModelProto | None]:
    """Why ``member`` cannot take part (None when it can) and its parsed graph."""
    v = member.validation
    if v is None:
        return member.validation_problem or "no validation predictions", None
    if not v.out_of_sample:
        return "its validation predictions are not out of sample (it early-stopped or selected on that slice)", None
    mismatch = _card_mismatch(member.card, job)
    if mismatch:
        return mismatch, None
    want = (n_val, job.shape.horizon, job.shape.n_targets)
    if v.start != start or v.y.shape != want:
        return (
            f"its validation slice starts at window {v.start} with shape {list(v.y.shape)}, this run's at {start} with {list(want)}",
            None,
        )
    if not np.all(np.isfinite(v.y)) or (v.components is not None and not np.all(np.isfinite(v.components))):
        return "its validation predictions are not all finite", None
    try:
        model = onnx.load_from_string(member.onnx_bytes)
    except Exception as exc:  # protobuf raises DecodeError and others
        return f"its model.onnx is not a readable ONNX model ({exc})", None
    if "q" not in {o.name for o in model.graph.output}:
        return "its graph has no quantile output 'q'", None
    return None, model


def usable_members(job: FitJob) -> tuple[list[Usable], list[dict[str, str]]]:
    n = int(job.train_windows.x.shape[0])
    start = validation_split(n)
    usable: list[Usable] = []
    excluded: list[dict[str, str]] = []
    for member in job.members:
        reason, model = exclusion(member, job, start, n - start)
        if reason is None and model is not None and member.validation is not None:
            usable.append(Usable(member, model, member.validation))
            continue
        why = reason or "unusable"
        log.warn("ensemble_member_excluded", member_run_id=member.run_id, member_model_type=member.model_type, reason=why)
        excluded.append({"run_id": member.run_id, "model_type": member.model_type, "reason": why})
    if len(usable) < MIN_MEMBERS:
        reasons = "; ".join(f"{e['run_id']} ({e['model_type']}): {e['reason']}" for e in excluded) or "none was given"
        raise EnsembleError(
            f"ENSEMBLE needs at least {MIN_MEMBERS} usable members, {len(usable)} of {len(job.members)} are usable; excluded: {reasons}"
        )
    return usable, excluded


def weighted_predictor(members: list[bytes], outputs: list[list[str]], weights: np.ndarray) -> Callable[[Windows], np.ndarray]:
    """The numpy reference of the graph's ``y``: Σ w[h, j, u]·(unit u's onnxruntime output), the units being each
    member's ``outputs`` in order."""
    sessions = [_session(b) for b in members]

    def predict(w: Windows) -> np.ndarray:
        feed = {"x": w.x.astype(np.float32), "t": w.t.astype(np.float64)}
        runs = [s.run(names, feed) for s, names in zip(sessions, outputs, strict=True)]
        ys = np.stack([np.asarray(y, dtype=np.float64) for r in runs for y in r], axis=-1)
        out: np.ndarray = np.einsum("nhju,hju->nhj", ys, weights.astype(np.float32).astype(np.float64))
        return out.astype(np.float32)

    return predict


class Ensemble:
    def fit(self, job: FitJob) -> Fitted:
        with timed() as fit_clock:
            usable, excluded = usable_members(job)
            start = usable[0].validation.start
            truth = job.train_windows.y[start:]
            units = [u.units() for u in usable]
            preds = np.stack([p.astype(np.float64) for us in units for _, p in us], axis=-1)
            weights = ensemble_weights.fit_weights(preds, truth)
            val_pred = np.einsum("nhju,hju->nhj", preds, weights)
            log_mask = conformal.log_targets(job.train, job.shape.targets)
            offs = conformal.offsets(val_pred, truth, log_mask, job.quantiles)
        with timed() as export_clock:
            outputs = [[name for name, _ in us] for us in units]
            model = ensemble_graph.ensemble_model([u.model for u in usable], outputs, weights, offs, log_mask)
            onnx_bytes = model.SerializeToString()
        predict = weighted_predictor([u.member.onnx_bytes for u in usable], outputs, weights)
        labels = [
            f"{u.member.model_type}:{u.member.run_id}" + ("" if name == "y" else f":{name}")
            for u, names in zip(usable, outputs, strict=True)
            for name in names
        ]
        method = "grid" if len(labels) <= ensemble_weights.GRID_MAX_MEMBERS else "local search"
        hyper: dict[str, Any] = {
            "members": [{"run_id": u.member.run_id, "model_type": u.member.model_type} for u in usable],
            "excluded": excluded,
            "weights": ensemble_weights.summary(weights, job.shape.targets, labels),
            "weight_search": f"{method}, step {ensemble_weights.GRID_STEP}, validation MAE per step and target",
            "units": labels,
            "n_validation_windows": int(truth.shape[0]),
            "opset": {o.domain or "ai.onnx": int(o.version) for o in model.opset_import},
        }
        log.info("ensemble_weights", members=labels, excluded=len(excluded), fit_seconds=round(fit_clock.seconds, 3))
        return Fitted(
            onnx_bytes=onnx_bytes,
            predict=predict,
            reference="onnxruntime members, weighted in numpy",
            hyperparameters=hyper,
            device="cpu",
            epochs=0,
            train_seconds=fit_clock.seconds,
            export_seconds=export_clock.seconds,
            predict_quantiles=lambda w: conformal.apply(predict(w), offs, log_mask),
            validation=ValidationPredictions(start=start, y=val_pred.astype(np.float32), out_of_sample=False),
        )
