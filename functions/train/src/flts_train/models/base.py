"""What a model strategy is given and what it returns: the one interface `train_model` dispatches through."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..data import Series, Windows
from ..shape import Shape


@dataclass(frozen=True)
class FitJob:
    """One fit: the train data (as rows and as windows), the shape, and the run's settings."""

    model_type: str
    shape: Shape
    train: Series
    train_windows: Windows
    seed: int
    device: str  # auto | cpu | cuda
    max_epochs: int | None
    overrides: dict[str, Any] = field(default_factory=dict)  # hyperparameters set by the caller
    time_budget_seconds: float | None = None
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)  # levels of the ``q`` output, ascending
    members: tuple[Member, ...] = ()  # an ENSEMBLE run's member runs (members.load_members), else empty


@dataclass(frozen=True)
class ValidationPredictions:
    """The fit-part model's predictions for the validation slice (the last train windows, ``data.validation_split``)."""

    start: int  # index of the first validation window among the train windows
    y: np.ndarray  # [n_val, horizon, n_targets] float32
    out_of_sample: bool  # False when the model early-stopped or selected on this slice, or saw it in training
    # Extra graph outputs (names, e.g. ``y_plain``) an ENSEMBLE may weight instead of ``y``, and their validation
    # predictions [c, n_val, horizon, n_targets]; empty for a member whose ``y`` is its only unit.
    component_names: tuple[str, ...] = ()
    components: np.ndarray | None = None


@dataclass(frozen=True)
class Member:
    """A finished run an ENSEMBLE combines: its graph, card and stored validation predictions."""

    run_id: str
    model_type: str
    onnx_bytes: bytes
    card: dict[str, Any]
    validation: ValidationPredictions | None
    validation_problem: str | None = None  # why ``validation`` is None


@dataclass(frozen=True)
class Fitted:
    """A fitted model: its self-contained ONNX graph and the fields of the card that depend on the family."""

    onnx_bytes: bytes
    predict: Callable[[Windows], np.ndarray]  # the native model's ``y`` for windows (the ONNX parity reference)
    reference: str  # what ``predict`` runs (the fixtures' ``source``)
    hyperparameters: dict[str, Any]
    device: str
    epochs: int
    train_seconds: float
    export_seconds: float
    predict_quantiles: Callable[[Windows], np.ndarray]  # the native model's ``q`` [n, h, k, nq] (the graph's reference)
    validation: ValidationPredictions | None = None


class Strategy(Protocol):
    """One model family: fit on the train windows, export the graph (inputs ``x``, ``t``; outputs ``y``, ``q``)."""

    def fit(self, job: FitJob) -> Fitted: ...


class Stopwatch:
    seconds = 0.0


@contextmanager
def timed() -> Iterator[Stopwatch]:
    """``with timed() as clock: ...`` then ``clock.seconds`` (monotonic)."""
    clock = Stopwatch()
    started = time.monotonic()
    try:
        yield clock
    finally:
        clock.seconds = time.monotonic() - started
