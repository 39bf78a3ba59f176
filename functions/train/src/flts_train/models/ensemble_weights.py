"""Ensemble weights: per step and target, non-negative, summing to 1, minimising validation MAE in raw units.

Points of a simplex grid (step 0.05): an exhaustive search for up to ``GRID_MAX_MEMBERS`` members, beyond that a
local search over the same grid that moves one grid step of weight between two members while the MAE falls.
"""

from __future__ import annotations

import itertools

import numpy as np

GRID_STEP = 0.05
GRID_MAX_MEMBERS = 5


def simplex_grid(n_members: int, step: float = GRID_STEP) -> np.ndarray:
    """Every weight vector [g, n_members] on the grid of ``step``, each row ≥ 0 summing to 1."""
    units = round(1 / step)
    rows = [
        [b - a - 1 for a, b in itertools.pairwise((-1, *cuts, units + n_members - 1))]
        for cuts in itertools.combinations(range(units + n_members - 1), n_members - 1)
    ]
    return np.asarray(rows, dtype=np.float64) / units


def _mae(preds: np.ndarray, truth: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """preds [n, m], truth [n], weights [g, m]: the MAE of each weighting [g]."""
    mixed: np.ndarray = np.abs(preds @ weights.T - truth[:, None]).mean(axis=0)
    return mixed


def _grid_search(preds: np.ndarray, truth: np.ndarray, grid: np.ndarray) -> int:
    """The row of ``grid`` with the lowest MAE (float32 halves the time; ties go to the first row)."""
    p, y, g = preds.astype(np.float32), truth.astype(np.float32), grid.astype(np.float32)
    chunk = max(1, 4_000_000 // max(1, p.shape[0]))
    maes = np.concatenate([_mae(p, y, g[i : i + chunk]) for i in range(0, g.shape[0], chunk)])
    return int(np.argmin(maes))


def _local_search(preds: np.ndarray, truth: np.ndarray, step: float = GRID_STEP) -> np.ndarray:
    """From the best single member, move ``step`` of weight between two members while that lowers the MAE."""
    m = preds.shape[1]
    single = _mae(preds, truth, np.eye(m))
    w = np.eye(m)[int(np.argmin(single))]
    best = float(single.min())
    moves = np.asarray([np.eye(m)[b] - np.eye(m)[a] for a in range(m) for b in range(m) if a != b]) * step
    while True:
        candidates = w[None, :] + moves
        candidates = candidates[(candidates >= -1e-12).all(axis=1)]
        maes = _mae(preds, truth, candidates)
        i = int(np.argmin(maes))
        if not maes[i] < best - 1e-12:
            found: np.ndarray = np.clip(w, 0.0, 1.0)
            return found
        w, best = candidates[i], float(maes[i])


def fit_weights(preds: np.ndarray, truth: np.ndarray, step: float = GRID_STEP) -> np.ndarray:
    """preds [n, horizon, n_targets, n_members] and truth [n, horizon, n_targets] (raw units) → weights [horizon, n_targets, n_members]."""
    if preds.ndim != 4 or preds.shape[:3] != truth.shape:
        raise ValueError(f"member predictions {preds.shape} do not match the validation truth {truth.shape} + members")
    if preds.shape[0] == 0:
        raise ValueError("no validation windows to fit ensemble weights on")
    _, horizon, n_targets, m = preds.shape
    grid = simplex_grid(m, step) if m <= GRID_MAX_MEMBERS else None
    weights = np.zeros((horizon, n_targets, m), dtype=np.float64)
    for h in range(horizon):
        for j in range(n_targets):
            p, y = preds[:, h, j, :], truth[:, h, j]
            weights[h, j] = _local_search(p, y, step) if grid is None else grid[_grid_search(p, y, grid)]
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights


def summary(
    weights: np.ndarray, targets: tuple[str, ...], labels: list[str], steps: tuple[int, ...] = (1, 5, 15, 30)
) -> dict[str, dict[str, dict[str, float]]]:
    """Card view: ``{target: {"h<step>": {member label: weight}}}`` at the given 1-based steps within the horizon."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for j, target in enumerate(targets):
        out[target] = {
            f"h{s}": {label: round(float(weights[s - 1, j, k]), 4) for k, label in enumerate(labels)}
            for s in steps
            if s <= weights.shape[0]
        }
    return out
