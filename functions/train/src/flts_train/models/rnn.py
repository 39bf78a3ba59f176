"""GRU and LSTM forecasters in PyTorch, exported with ONNX GRU/LSTM operators.

The exported module maps raw inputs to raw outputs: optional log1p of volume columns, standardisation
with train statistics, time-of-day features from ``t``, the recurrent encoder, a linear head that
predicts the change from the last observed value in the transformed space, a quantile head (monotone
by construction) in the same space, and the inverse transform. Training is in ``rnn_fit``.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from torch import nn

from ..data import Windows
from ..shape import Shape

DAY = 86400.0
LOG_MIN_MAX = 1000.0  # a non-negative column whose train maximum exceeds this is a volume: log1p
OPSET = 17
CELLS: dict[str, type[nn.GRU] | type[nn.LSTM]] = {"GRU": nn.GRU, "LSTM": nn.LSTM}


@dataclass
class RnnHyper:
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    lr: float = 2e-3
    weight_decay: float = 1e-4
    batch_size: int = 128
    max_epochs: int = 60
    patience: int = 8
    val_fraction: float = 0.15
    loss: str = "huber"  # huber | mse | l1
    huber_delta: float = 1.0
    loss_space: str = "transformed"  # transformed (normalised delta) | raw (standardised raw units)
    log_volume: bool = True
    time_of_day: bool = True
    grad_clip: float = 1.0
    lr_decay: float = 0.0  # > 0: multiply the learning rate by this after `lr_decay_patience` epochs without progress
    lr_decay_patience: int = 3
    # wall-clock cap on training (env FLTS_MAX_TRAIN_SECONDS overrides): no epoch starts that would cross it
    max_train_seconds: float = field(default_factory=lambda: float(os.environ.get("FLTS_MAX_TRAIN_SECONDS", "150")))
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        d.update(self.extra)
        return d


@dataclass(frozen=True)
class Scaling:
    """Train statistics baked into the graph: per feature (log mask, mean, std), per target (delta mean, std)."""

    feat_log: np.ndarray
    feat_mean: np.ndarray
    feat_std: np.ndarray
    delta_mean: np.ndarray
    delta_std: np.ndarray


class Forecaster(nn.Module):
    """Raw-in, raw-out recurrent forecaster (the module that is exported)."""

    feat_log: torch.Tensor
    feat_mean: torch.Tensor
    feat_std: torch.Tensor
    target_idx: torch.Tensor
    tgt_log: torch.Tensor
    delta_mean: torch.Tensor
    delta_std: torch.Tensor
    row_offsets: torch.Tensor

    def __init__(self, kind: str, shape: Shape, hp: RnnHyper, scaling: Scaling, levels: Sequence[float]) -> None:
        super().__init__()
        self.kind = kind
        self.shape = shape
        self.horizon = shape.horizon
        self.n_targets = shape.n_targets
        self.time_of_day = hp.time_of_day
        f32 = torch.float32
        self.register_buffer("feat_log", torch.tensor(scaling.feat_log, dtype=f32))
        self.register_buffer("feat_mean", torch.tensor(scaling.feat_mean, dtype=f32))
        self.register_buffer("feat_std", torch.tensor(scaling.feat_std, dtype=f32))
        self.register_buffer("target_idx", torch.tensor(shape.target_idx, dtype=torch.long))
        self.register_buffer("tgt_log", torch.tensor(scaling.feat_log[shape.target_idx], dtype=f32))
        self.register_buffer("delta_mean", torch.tensor(scaling.delta_mean, dtype=f32))
        self.register_buffer("delta_std", torch.tensor(scaling.delta_std, dtype=f32))
        # offsets (seconds) of the window rows before the first forecast step: -window*step .. -step
        offsets = -float(shape.step_seconds) * torch.arange(shape.window, 0, -1, dtype=torch.float64)
        self.register_buffer("row_offsets", offsets)
        n_in = shape.n_features + (2 if hp.time_of_day else 0)
        self.rnn = CELLS[kind](
            input_size=n_in,
            hidden_size=hp.hidden_size,
            num_layers=hp.num_layers,
            batch_first=True,
            dropout=hp.dropout if hp.num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hp.hidden_size, shape.horizon * shape.n_targets)
        # Start as persistence: the head predicts the mean change (zero normalised delta).
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.quantiles = QuantileHead(hp.hidden_size, shape.horizon, shape.n_targets, levels)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """log1p of volume columns (clamped at 0), identity elsewhere: [..., n_features]."""
        logged = torch.log(torch.relu(x) + 1.0)
        return self.feat_log * logged + (1.0 - self.feat_log) * x

    def normalised_delta(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Predicted normalised change: point [B, H, T], quantiles [B, H, T, Q]; transformed last target value [B, T]."""
        g = self.transform(x)
        z = (g - self.feat_mean) / self.feat_std
        if self.time_of_day:
            rows = t[:, 0:1] + self.row_offsets  # [B, W] float64 unix seconds
            phase = (torch.remainder(rows, DAY) * (2.0 * math.pi / DAY)).to(torch.float32)
            z = torch.cat([z, torch.sin(phase).unsqueeze(-1), torch.cos(phase).unsqueeze(-1)], dim=-1)
        out, _ = self.rnn(z)
        last = out[:, -1, :]
        d = self.head(last).reshape(-1, self.horizon, self.n_targets)
        base = torch.index_select(g[:, -1, :], 1, self.target_idx)
        return d, self.quantiles(last, d), base

    def inverse(self, d: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Raw values of normalised changes d [B, H, T] from the transformed last values base [B, T]."""
        yg = base.unsqueeze(1) + d * self.delta_std + self.delta_mean
        return self._untransform(yg, self.tgt_log)

    def inverse_quantiles(self, qd: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Raw quantiles [B, H, T, Q] of normalised quantile changes qd [B, H, T, Q]."""
        yg = base[:, None, :, None] + qd * self.delta_std[:, None] + self.delta_mean[:, None]
        return self._untransform(yg, self.tgt_log[:, None])

    @staticmethod
    def _untransform(yg: torch.Tensor, log_mask: torch.Tensor) -> torch.Tensor:
        # exp only of the log-space targets, clamped so no float32 overflow; identity elsewhere
        return log_mask * (torch.exp(torch.clamp(yg, max=80.0)) - 1.0) + (1.0 - log_mask) * yg

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(y [B, H, T], q [B, H, T, Q]) in raw units."""
        d, qd, base = self.normalised_delta(x, t)
        return self.inverse(d, base), self.inverse_quantiles(qd, base)


class QuantileHead(nn.Module):
    """Quantile changes that never cross: the level nearest 0.5 is the point plus a learned shift, the others
    step away from it by softplus increments (cumulated by one constant matrix, so the graph stays plain MatMul).

    It starts as a normal distribution around the point with unit spread (the normalised change's pooled std).
    """

    steps: torch.Tensor

    def __init__(self, hidden_size: int, horizon: int, n_targets: int, levels: Sequence[float]) -> None:
        super().__init__()
        if not levels or any(not 0.0 < p < 1.0 for p in levels) or any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError(f"quantile levels must be ascending in (0, 1), got {list(levels)}")
        nq = len(levels)
        self.horizon, self.n_targets, self.nq = horizon, n_targets, nq
        self.anchor = min(range(nq), key=lambda i: abs(levels[i] - 0.5))
        a = self.anchor
        steps = torch.zeros(nq, nq)  # q_j = anchor + sum_i softplus(r_i) * steps[i, j]
        for j in range(nq):
            for i in range(nq):
                steps[i, j] = 1.0 if a < i <= j else (-1.0 if j <= i < a else 0.0)
        self.register_buffer("steps", steps)
        self.linear = nn.Linear(hidden_size, horizon * n_targets * nq)
        z = [statistics.NormalDist().inv_cdf(p) for p in levels]
        init = [z[a] if i == a else _softplus_inverse(abs(z[i] - z[i + 1 if i < a else i - 1])) for i in range(nq)]
        nn.init.zeros_(self.linear.weight)
        with torch.no_grad():
            self.linear.bias.copy_(torch.tensor(init, dtype=torch.float32).repeat(horizon * n_targets))

    def forward(self, hidden: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
        r: torch.Tensor = self.linear(hidden).reshape(-1, self.horizon, self.n_targets, self.nq)
        a = self.anchor
        centre = point.detach().unsqueeze(-1) + r[..., a : a + 1]  # the point head learns from its own loss only
        return centre + torch.matmul(nn.functional.softplus(r), self.steps)


def _softplus_inverse(v: float) -> float:
    return math.log(math.expm1(max(v, 1e-6)))


def _feature_stats(x_rows: np.ndarray, hp: RnnHyper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x_rows [n, F] raw train rows -> (log mask, mean, std) of the transformed columns."""
    mins = x_rows.min(axis=0)
    maxs = x_rows.max(axis=0)
    log_mask = ((mins >= 0) & (maxs > LOG_MIN_MAX)).astype(np.float64) if hp.log_volume else np.zeros(x_rows.shape[1])
    g = _g(x_rows, log_mask)
    mean = g.mean(axis=0)
    std = g.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return log_mask, mean, std


def _g(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask > 0, np.log1p(np.maximum(v, 0)), v)


def build_model(kind: str, train: Windows, shape: Shape, hp: RnnHyper, levels: Sequence[float]) -> Forecaster:
    rows = train.x.reshape(-1, train.x.shape[-1])
    log_mask, mean, std = _feature_stats(rows, hp)
    tmask = log_mask[shape.target_idx]
    dg = _g(train.y, tmask) - _g(train.last, tmask)[:, None, :]  # [n, H, T]
    delta_std = dg.reshape(-1, shape.n_targets).std(axis=0)
    delta_std = np.where(delta_std > 1e-12, delta_std, 1.0)
    # Bias-free deltas: the mean change over the train windows is ~0 and a non-zero offset only adds drift.
    delta_mean = np.zeros(shape.n_targets, dtype=dg.dtype)
    return Forecaster(kind, shape, hp, Scaling(log_mask, mean, std, delta_mean, delta_std), levels)


def predict(model: Forecaster, x: np.ndarray, t: np.ndarray, batch: int = 4096) -> np.ndarray:
    """The point forecast y [n, H, T]."""
    return _predict(model, x, t, 0, batch)


def predict_quantiles(model: Forecaster, x: np.ndarray, t: np.ndarray, batch: int = 4096) -> np.ndarray:
    """The quantile forecast q [n, H, T, Q]."""
    return _predict(model, x, t, 1, batch)


def _predict(model: Forecaster, x: np.ndarray, t: np.ndarray, output: int, batch: int) -> np.ndarray:
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            xb = torch.tensor(x[i : i + batch], dtype=torch.float32)
            tb = torch.tensor(t[i : i + batch], dtype=torch.float64)
            outs.append(model(xb, tb)[output].numpy())
    if not outs:
        tail = (model.horizon, model.n_targets) + ((model.quantiles.nq,) if output else ())
        return np.zeros((0, *tail), dtype=np.float32)
    return np.concatenate(outs, axis=0)


def export_onnx(model: Forecaster) -> bytes:
    """The raw-in, raw-out graph with inputs x, t and outputs y, q (dynamic batch)."""
    model = model.cpu().eval()
    shape = model.shape
    x = torch.zeros(2, shape.window, shape.n_features, dtype=torch.float32)
    t = torch.full((2, shape.horizon), 1.5e9, dtype=torch.float64)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (x, t),
                path,
                dynamo=False,
                input_names=["x", "t"],
                output_names=["y", "q"],
                dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}, "y": {0: "batch"}, "q": {0: "batch"}},
                opset_version=OPSET,
                do_constant_folding=True,
            )
        data = Path(path).read_bytes()
    return with_both_inputs(data, shape)


def with_both_inputs(data: bytes, shape: Shape) -> bytes:
    """Every model takes both ``x`` and ``t``: the exporter drops an unused input (``t`` without
    time-of-day features), so it is added back as an (ignored) graph input."""
    m = onnx.load_from_string(data)
    names = [i.name for i in m.graph.input]
    if names == ["x", "t"]:
        return data
    if "t" not in names:
        m.graph.input.append(helper.make_tensor_value_info("t", TensorProto.DOUBLE, ["batch", shape.horizon]))
    if "x" not in names:
        x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", shape.window, shape.n_features])
        m.graph.input.insert(0, x_info)
    onnx.checker.check_model(m)
    fixed: bytes = m.SerializeToString()
    return fixed
