"""Guards against training on, or shipping, values that are not finite."""

from __future__ import annotations

import math

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


class NonFiniteError(RuntimeError):
    """A loss or a prediction that is NaN or infinite: the run must fail, never ship a model."""


def require_finite_loss(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise NonFiniteError(f"{what} is {value}, not finite: the model diverged or the data holds extreme values")
    return value


def require_finite_predictions(pred: np.ndarray, targets: tuple[str, ...], what: str) -> None:
    """``pred`` [n, horizon, n_targets]; names the targets and counts the bad values."""
    bad = ~np.isfinite(pred)
    if not bad.any():
        return
    per_target = {name: int(bad[..., j].sum()) for j, name in enumerate(targets) if bad[..., j].any()}
    listing = ", ".join(f"{name} {count}" for name, count in per_target.items())
    raise NonFiniteError(f"{what} hold {int(bad.sum())} non-finite value(s) of {pred.size} ({listing})")
