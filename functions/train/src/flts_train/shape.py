"""The shape of a model's input and output: what every strategy, the windows and the ONNX graph share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """``x`` [batch, window, n_features] and ``t`` [batch, horizon] in, ``y`` [batch, horizon, n_targets] out."""

    window: int
    horizon: int
    features: tuple[str, ...]
    targets: tuple[str, ...]
    step_seconds: float

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def n_targets(self) -> int:
        return len(self.targets)

    @property
    def target_idx(self) -> list[int]:
        """Column of each target in ``x``."""
        return [self.features.index(t) for t in self.targets]
