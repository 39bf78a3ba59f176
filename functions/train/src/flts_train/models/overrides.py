"""Checks shared by the model types' hyperparameter overrides (a ValueError names the model type and the field)."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any


def reject_unknown(model_type: str, overrides: dict[str, Any], hyper: type) -> None:
    """A ValueError listing the names in ``overrides`` that are not fields of the dataclass ``hyper``."""
    known = {f.name for f in fields(hyper)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"{model_type} hyperparameters: unknown {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def is_number(v: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
