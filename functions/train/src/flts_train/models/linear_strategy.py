"""LINEAR: a multi-output ridge over the standardised lagged window, every step and target at once.

The inputs are the window's rows in the transformed space, each earlier row as its difference to the last row and then
the last row itself (``graph_parts.relative_rows``), standardised per position and column: the penalty then shrinks
towards "the recent changes carry nothing", which on the shipped data beats shrinking the absolute lags (ElBorn `down`
step 1, test MAE ratio to persistence 0.864 against 0.870; step 30 0.815 against 0.850). The target is the change
from the last observed value in the transformed space (log1p of volume columns). Each output column (step x target)
picks its alpha and whether it uses time-of-day features by validation MAE in raw units, fitted on the first part of
the train windows; the validation predictions give the conformal offsets, then the chosen columns are refitted on all
train windows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import log
from ..data import DataError, Windows, validation_split
from ..shape import Shape
from . import conformal
from .base import FitJob, Fitted, ValidationPredictions, timed
from .graph_parts import DAY, OPSET, relative_rows_np
from .linear_export import TOD_HARMONICS, LinearModel, build_graph
from .overrides import is_number, reject_unknown

ALPHAS = (1.0, 10.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4, 1e5)
TOD_MARGIN = 0.005  # time of day must beat the plain model by 0.5% on validation (ElBorn `down` step 1: 0.4%, noise)
Stats = tuple[np.ndarray, np.ndarray, np.ndarray]  # log1p mask [F]; mean and std [window, F] of the relative rows (fit part)


@dataclass(frozen=True)
class LinearHyper:
    alphas: tuple[float, ...] = ALPHAS  # ridge penalties tried per output column
    time_of_day: bool = True  # offer each column the model with time-of-day features
    tod_margin: float = TOD_MARGIN  # relative validation-MAE gain time of day needs to be chosen

    @staticmethod
    def from_overrides(overrides: dict[str, Any]) -> LinearHyper:
        reject_unknown("LINEAR", overrides, LinearHyper)
        alphas = overrides.get("alphas", ALPHAS)
        if not isinstance(alphas, list | tuple) or not alphas:
            raise ValueError(f"LINEAR hyperparameter alphas: must be a non-empty list of positive numbers, got {alphas!r}")
        for a in alphas:
            if not is_number(a) or a <= 0:
                raise ValueError(f"LINEAR hyperparameter alphas: {a!r} is not a finite number above 0")
        tod = overrides.get("time_of_day", True)
        if not isinstance(tod, bool):
            raise ValueError(f"LINEAR hyperparameter time_of_day: must be true or false, got {tod!r}")
        margin = overrides.get("tod_margin", TOD_MARGIN)
        if not is_number(margin) or not 0 <= margin < 1:
            raise ValueError(f"LINEAR hyperparameter tod_margin: must be a number in [0, 1), got {margin!r}")
        return LinearHyper(tuple(float(a) for a in alphas), tod, float(margin))


def _time_of_day(t0: np.ndarray) -> np.ndarray:
    """[n, 2 * TOD_HARMONICS]: sin, cos of k * the day phase of the first step's time, k = 1..TOD_HARMONICS."""
    phase = np.remainder(t0, DAY) * (2.0 * np.pi / DAY)
    return np.stack([f(k * phase) for k in range(1, TOD_HARMONICS + 1) for f in (np.sin, np.cos)], axis=1)


def _features(w: Windows, log_mask: np.ndarray, mean: np.ndarray, std: np.ndarray, tod: bool) -> np.ndarray:
    z = ((relative_rows_np(conformal.g(w.x, log_mask)) - mean) / std).reshape(w.x.shape[0], -1)
    return np.concatenate([z, _time_of_day(w.t[:, 0])], axis=1) if tod else z


def _raw(last: np.ndarray, delta: np.ndarray, tmask: np.ndarray) -> np.ndarray:
    """Raw forecasts [n, horizon, n_targets] from transformed changes [n, horizon * n_targets]."""
    n, k = last.shape
    return conformal.g_inv(conformal.g(last, tmask)[:, None, :] + delta.reshape(n, -1, k), tmask)


def _target_delta(w: Windows, tmask: np.ndarray) -> np.ndarray:
    delta: np.ndarray = conformal.g(w.y, tmask) - conformal.g(w.last, tmask)[:, None, :]
    return delta.reshape(w.y.shape[0], -1)


class _Ridge:
    """Ridge with an unpenalised intercept for every alpha from one SVD of the centred design."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x_mean, self.y_mean = x.mean(axis=0), y.mean(axis=0)
        u, self.s, vt = np.linalg.svd(x - self.x_mean, full_matrices=False)
        self.v = vt.T
        self.uty = u.T @ (y - self.y_mean)

    def coef(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        w = self.v @ ((self.s / (self.s**2 + alpha))[:, None] * self.uty)
        return w, self.y_mean - self.x_mean @ w


@dataclass
class _Choice:
    alpha: np.ndarray  # [horizon * n_targets] the chosen penalty
    tod: np.ndarray  # [horizon * n_targets] bool: with time-of-day features
    val_raw: np.ndarray  # [n_val, horizon * n_targets] the fit-part model's validation forecasts
    val_mae: np.ndarray  # [horizon * n_targets]


def _best_alpha(fit: Windows, val: Windows, stats: Stats, tmask: np.ndarray, alphas: tuple[float, ...], tod: bool) -> _Choice:
    """Per output column, the alpha with the lowest validation MAE in raw units (the first wins ties)."""
    n_val, h, k = val.y.shape
    ridge = _Ridge(_features(fit, *stats, tod=tod), _target_delta(fit, tmask))
    xv = _features(val, *stats, tod=tod)
    best = _Choice(np.zeros(h * k), np.full(h * k, tod), np.zeros((n_val, h * k)), np.full(h * k, np.inf))
    for a in alphas:
        w, b = ridge.coef(a)
        pred = _raw(val.last, xv @ w + b, tmask).reshape(n_val, -1)
        mae = np.abs(pred - val.y.reshape(n_val, -1)).mean(axis=0)
        better = mae < best.val_mae
        best.val_mae[better], best.alpha[better], best.val_raw[:, better] = mae[better], a, pred[:, better]
    if not np.all(np.isfinite(best.val_mae)):
        raise RuntimeError(f"LINEAR validation MAE is not finite for {int((~np.isfinite(best.val_mae)).sum())} output column(s)")
    return best


def _choose(fit: Windows, val: Windows, stats: Stats, tmask: np.ndarray, hp: LinearHyper) -> tuple[_Choice, dict[str, _Choice]]:
    """Per output column, the alpha and whether to use time of day: time of day only where it lowers the validation MAE
    by more than ``hp.tod_margin`` (relative). Also the plain and the time-of-day model on their own (the components)."""
    plain = _best_alpha(fit, val, stats, tmask, hp.alphas, tod=False)
    if not hp.time_of_day:
        return plain, {}
    tod = _best_alpha(fit, val, stats, tmask, hp.alphas, tod=True)
    use = tod.val_mae < plain.val_mae * (1.0 - hp.tod_margin)
    val_raw = np.where(use[None, :], tod.val_raw, plain.val_raw)
    chosen = _Choice(np.where(use, tod.alpha, plain.alpha), use, val_raw, np.where(use, tod.val_mae, plain.val_mae))
    return chosen, {"y_plain": plain, "y_tod": tod}


def _refit_one(windows: Windows, stats: Stats, tmask: np.ndarray, alpha: np.ndarray, tod: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every column's ridge (its own alpha) refitted on ``windows``, with or without time of day: (weights, bias)."""
    target = _target_delta(windows, tmask)
    ridge = _Ridge(_features(windows, *stats, tod=tod), target)
    weights, bias = np.zeros((ridge.v.shape[0], target.shape[1])), np.zeros(target.shape[1])
    for a in sorted(set(alpha.tolist())):
        cols = np.nonzero(alpha == a)[0]
        w, b = ridge.coef(a)
        weights[:, cols], bias[cols] = w[:, cols], b[cols]
    return weights, bias


def _refit(windows: Windows, stats: Stats, tmask: np.ndarray, choice: _Choice, parts: dict[str, _Choice]) -> LinearModel:
    """The components refitted on ``windows`` in one input layout (time-of-day rows zero where unused); ``y`` takes each
    column from the component its choice names (without components ``choice`` is the plain model)."""
    sources = list(parts.values()) or [choice]  # each uses time of day in all its columns or in none
    n_in = windows.x.shape[1] * windows.x.shape[2] + (2 * TOD_HARMONICS if any(bool(c.tod[0]) for c in sources) else 0)
    fitted: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    for c in sources:
        w, b = _refit_one(windows, stats, tmask, c.alpha, bool(c.tod[0]))
        fitted[bool(c.tod[0])] = (np.pad(w, ((0, n_in - w.shape[0]), (0, 0))), b)
    weights, bias = np.zeros((n_in, choice.tod.size)), np.zeros(choice.tod.size)
    for tod, (w, b) in fitted.items():
        cols = choice.tod == tod
        weights[:, cols], bias[cols] = w[:, cols], b[cols]
    components = tuple((name, *fitted[bool(c.tod[0])]) for name, c in parts.items())
    log_mask, mean, std = stats
    return LinearModel(log_mask, mean, std, weights, bias, n_in > windows.x.shape[1] * windows.x.shape[2], components)


def predict(model: LinearModel, shape: Shape, w: Windows, component: str | None = None) -> np.ndarray:
    """The native forecasts [n, horizon, n_targets] in float64 (the graph's parity reference) of ``y`` or a component."""
    x = _features(w, model.log_mask, model.mean, model.std, tod=model.time_of_day)
    weights, bias = (model.weights, model.bias) if component is None else model.component(component)
    return _raw(w.last, x @ weights + bias, model.log_mask[shape.target_idx])


def _split(w: Windows, at: int) -> tuple[Windows, Windows]:
    return Windows(w.x[:at], w.t[:at], w.y[:at], w.last[:at]), Windows(w.x[at:], w.t[at:], w.y[at:], w.last[at:])


def _summary(shape: Shape, choice: _Choice, hp: LinearHyper, log_mask: np.ndarray, n_fit: int, n_val: int) -> dict[str, Any]:
    k = shape.n_targets
    alpha, tod = choice.alpha.reshape(-1, k), choice.tod.reshape(-1, k)
    return {
        "alpha_grid": list(hp.alphas),
        "alpha_counts": {f"{a:g}": n for a, n in sorted(Counter(choice.alpha.tolist()).items())},
        "alpha_first_step": {t: float(alpha[0, j]) for j, t in enumerate(shape.targets)},
        "alpha_last_step": {t: float(alpha[-1, j]) for j, t in enumerate(shape.targets)},
        "time_of_day_offered": hp.time_of_day,
        "time_of_day_margin": hp.tod_margin,
        "time_of_day_steps": {t: int(tod[:, j].sum()) for j, t in enumerate(shape.targets)},
        "time_of_day_harmonics": TOD_HARMONICS,
        "log1p_features": [f for f, m in zip(shape.features, log_mask.tolist(), strict=True) if m],
        "target_mode": "delta_from_last_in_transformed_space",
        "fit_windows": n_fit,
        "validation_windows": n_val,
        "refit": "all_train_windows",
        "opset": OPSET,
    }


class Linear:
    def fit(self, job: FitJob) -> Fitted:
        hp = LinearHyper.from_overrides(job.overrides)
        shape, windows = job.shape, job.train_windows
        n = int(windows.x.shape[0])
        start = validation_split(n)
        if not 0 < start < n:
            raise DataError(f"LINEAR needs at least 2 train windows (a fit part and a validation part), got {n}")
        with timed() as fit_clock:
            fit_part, val = _split(windows, start)
            log_mask = conformal.log_targets(job.train, shape.features)
            tmask = log_mask[shape.target_idx]
            rows = relative_rows_np(conformal.g(fit_part.x, log_mask))
            std = rows.std(axis=0)
            stats = (log_mask, rows.mean(axis=0), np.where(std > 1e-12, std, 1.0))
            choice, parts = _choose(fit_part, val, stats, tmask, hp)
            val_raw = choice.val_raw.reshape(val.y.shape)
            offsets = conformal.offsets(val_raw, val.y, tmask, job.quantiles)
            model = _refit(windows, stats, tmask, choice, parts)
        log.info(
            "trained",
            model_type=job.model_type,
            train_seconds=round(fit_clock.seconds, 3),
            validation_mae=dict(zip(shape.targets, choice.val_mae.reshape(-1, shape.n_targets).mean(axis=0).tolist(), strict=True)),
            time_of_day_columns=int(choice.tod.sum()),
        )
        with timed() as export_clock:
            model_bytes = build_graph(model, shape, offsets).SerializeToString()

        def native(w: Windows) -> np.ndarray:
            return predict(model, shape, w)

        return Fitted(
            onnx_bytes=model_bytes,
            predict=native,
            predict_quantiles=lambda w: conformal.apply(native(w), offsets, tmask),
            reference="numpy ridge",
            hyperparameters=_summary(shape, choice, hp, log_mask, start, n - start),
            device="cpu",
            epochs=0,
            train_seconds=fit_clock.seconds,
            export_seconds=export_clock.seconds,
            validation=ValidationPredictions(
                start=start,
                y=val_raw.astype(np.float32),
                out_of_sample=True,
                component_names=tuple(parts),
                components=np.stack([c.val_raw.reshape(val.y.shape) for c in parts.values()]).astype(np.float32) if parts else None,
            ),
        )
