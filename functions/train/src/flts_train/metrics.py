"""Error metrics in raw units, per target, and the persistence baseline."""

from __future__ import annotations

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
