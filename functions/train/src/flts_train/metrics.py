"""Error metrics in raw units, per target (and per step), interval coverage and pinball loss, and the persistence baseline."""

from __future__ import annotations

from typing import Any

import numpy as np


def per_target(pred: np.ndarray, truth: np.ndarray, targets: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """``pred`` and ``truth`` [n, horizon, n_targets]; MAE, RMSE and MSE over every window and step."""
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(targets):
        err = pred[..., j].astype(np.float64) - truth[..., j].astype(np.float64)
        mse = float(np.mean(err**2)) if err.size else float("nan")
        out[name] = {"mae": float(np.mean(np.abs(err))) if err.size else float("nan"), "rmse": float(np.sqrt(mse)), "mse": mse}
    return out


def persistence(last: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value of each target repeated for every horizon step: [n, horizon, n_targets]."""
    return np.repeat(last[:, None, :], horizon, axis=1)


def per_step(pred: np.ndarray, truth: np.ndarray, targets: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """MAE and RMSE of each forecast step (index 0 = one step ahead) per target, over the windows."""
    err = pred.astype(np.float64) - truth.astype(np.float64)
    return {
        name: {
            "mae": np.abs(err[..., j]).mean(axis=0).tolist(),
            "rmse": np.sqrt((err[..., j] ** 2).mean(axis=0)).tolist(),
        }
        for j, name in enumerate(targets)
    }


def pinball(q: np.ndarray, truth: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """Pinball loss of quantile forecasts ``q`` [..., nq] at ``levels`` against ``truth`` [...], averaged over the levels."""
    err = truth.astype(np.float64)[..., None] - q.astype(np.float64)
    lv = np.asarray(levels, dtype=np.float64)
    loss: np.ndarray = np.maximum(lv * err, (lv - 1.0) * err).mean(axis=-1)
    return loss


def intervals(q: np.ndarray, truth: np.ndarray, levels: tuple[float, ...], targets: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per target: the share of actuals inside the outermost levels' interval (overall and per step; null with one
    level) and the mean pinball loss in raw units. ``q`` [n, h, k, nq], ``truth`` [n, h, k]."""
    out: dict[str, dict[str, Any]] = {}
    loss = pinball(q, truth, levels)
    for j, name in enumerate(targets):
        inside = (truth[..., j] >= q[..., j, 0]) & (truth[..., j] <= q[..., j, -1]) if len(levels) > 1 else None
        out[name] = {
            "levels": [float(levels[0]), float(levels[-1])],
            "coverage": None if inside is None else float(inside.mean()),
            "coverage_per_step": None if inside is None else inside.mean(axis=0).tolist(),
            "pinball": float(loss[..., j].mean()),
        }
    return out
