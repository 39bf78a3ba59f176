"""GRU and LSTM forecasters in PyTorch, trained on windows and exported with ONNX GRU/LSTM operators.

The exported module maps raw inputs to raw outputs: optional log1p of volume columns, standardisation
with train statistics, time-of-day features from ``t``, the recurrent encoder, a linear head that
predicts the change from the last observed value in the transformed space, and the inverse transform.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data import Windows
from ..finite import require_finite_loss

DAY = 86400.0
LOG_MIN_MAX = 1000.0  # a non-negative column whose train maximum exceeds this is a volume: log1p


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


class Forecaster(nn.Module):
    """Raw-in, raw-out recurrent forecaster (the module that is exported)."""

    def __init__(
        self,
        kind: str,
        n_features: int,
        target_idx: list[int],
        horizon: int,
        window: int,
        step_seconds: float,
        hp: RnnHyper,
        feat_log: np.ndarray,
        feat_mean: np.ndarray,
        feat_std: np.ndarray,
        delta_mean: np.ndarray,
        delta_std: np.ndarray,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.horizon = horizon
        self.window = window
        self.n_targets = len(target_idx)
        self.step_seconds = float(step_seconds)
        self.time_of_day = hp.time_of_day
        f32 = torch.float32
        self.register_buffer("feat_log", torch.tensor(feat_log, dtype=f32))
        self.register_buffer("feat_mean", torch.tensor(feat_mean, dtype=f32))
        self.register_buffer("feat_std", torch.tensor(feat_std, dtype=f32))
        self.register_buffer("target_idx", torch.tensor(target_idx, dtype=torch.long))
        self.register_buffer("tgt_log", torch.tensor(feat_log[target_idx], dtype=f32))
        self.register_buffer("delta_mean", torch.tensor(delta_mean, dtype=f32))
        self.register_buffer("delta_std", torch.tensor(delta_std, dtype=f32))
        # offsets (seconds) of the window rows before the first forecast step: -window*step .. -step
        offsets = -self.step_seconds * torch.arange(window, 0, -1, dtype=torch.float64)
        self.register_buffer("row_offsets", offsets)
        n_in = n_features + (2 if hp.time_of_day else 0)
        rnn_cls = nn.GRU if kind == "GRU" else nn.LSTM
        self.rnn = rnn_cls(
            input_size=n_in,
            hidden_size=hp.hidden_size,
            num_layers=hp.num_layers,
            batch_first=True,
            dropout=hp.dropout if hp.num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hp.hidden_size, horizon * self.n_targets)
        # Start as persistence: the head predicts the mean change (zero normalised delta).
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """log1p of volume columns (clamped at 0), identity elsewhere: [..., n_features]."""
        logged = torch.log(torch.relu(x) + 1.0)
        return self.feat_log * logged + (1.0 - self.feat_log) * x

    def normalised_delta(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted normalised change [B, H, T], transformed last target value [B, T])."""
        g = self.transform(x)
        z = (g - self.feat_mean) / self.feat_std
        if self.time_of_day:
            rows = t[:, 0:1] + self.row_offsets  # [B, W] float64 unix seconds
            phase = (torch.remainder(rows, DAY) * (2.0 * math.pi / DAY)).to(torch.float32)
            z = torch.cat([z, torch.sin(phase).unsqueeze(-1), torch.cos(phase).unsqueeze(-1)], dim=-1)
        out, _ = self.rnn(z)
        d = self.head(out[:, -1, :]).reshape(-1, self.horizon, self.n_targets)
        base = torch.index_select(g[:, -1, :], 1, self.target_idx)
        return d, base

    def inverse(self, d: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        yg = base.unsqueeze(1) + d * self.delta_std + self.delta_mean
        # exp only of the log-space targets, clamped so no float32 overflow; identity elsewhere
        return self.tgt_log * (torch.exp(torch.clamp(yg, max=80.0)) - 1.0) + (1.0 - self.tgt_log) * yg

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        d, base = self.normalised_delta(x, t)
        return self.inverse(d, base)


@dataclass
class FitResult:
    model: Forecaster
    epochs: int
    best_epoch: int
    best_val_loss: float
    device: str
    hyper: RnnHyper
    history: list[dict[str, float]]


def pick_device(requested: str) -> torch.device:
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("params.device is 'cuda' but no CUDA device is available")
        return torch.device("cuda")
    if requested == "auto" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def configure_threads() -> None:
    """One intra-op thread unless FLTS_TORCH_THREADS says otherwise.

    The models are small (batches of 128 x 10 x ~13): per-operator overhead dominates and OpenMP
    barriers across threads cost more than they save. Measured on the 2-core dev machine while other
    processes ran: 3 GRU epochs took 0.75 s with 1 thread and 9-30 s with 2 threads.
    """
    n = int(os.environ.get("FLTS_TORCH_THREADS", "1"))
    torch.set_num_threads(max(1, n))


def _feature_stats(x_rows: np.ndarray, hp: RnnHyper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x_rows [n, F] raw train rows -> (log mask, mean, std) of the transformed columns."""
    mins = x_rows.min(axis=0)
    maxs = x_rows.max(axis=0)
    log_mask = ((mins >= 0) & (maxs > LOG_MIN_MAX)).astype(np.float64) if hp.log_volume else np.zeros(x_rows.shape[1])
    g = np.where(log_mask > 0, np.log1p(np.maximum(x_rows, 0)), x_rows)
    mean = g.mean(axis=0)
    std = g.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return log_mask, mean, std


def _g(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask > 0, np.log1p(np.maximum(v, 0)), v)


def build_model(
    kind: str,
    train: Windows,
    features: tuple[str, ...],
    targets: tuple[str, ...],
    window: int,
    horizon: int,
    step_seconds: float,
    hp: RnnHyper,
) -> Forecaster:
    target_idx = [features.index(t) for t in targets]
    rows = train.x.reshape(-1, train.x.shape[-1])
    log_mask, mean, std = _feature_stats(rows, hp)
    tmask = log_mask[target_idx]
    dg = _g(train.y, tmask) - _g(train.last, tmask)[:, None, :]  # [n, H, T]
    delta_std = dg.reshape(-1, len(targets)).std(axis=0)
    delta_std = np.where(delta_std > 1e-12, delta_std, 1.0)
    # Bias-free deltas: the mean change over the train windows is ~0 and a non-zero offset only adds drift.
    delta_mean = np.zeros(len(targets), dtype=dg.dtype)
    return Forecaster(kind, len(features), target_idx, horizon, window, step_seconds, hp, log_mask, mean, std, delta_mean, delta_std)


def _loss_fn(hp: RnnHyper) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if hp.loss == "mse":
        return nn.MSELoss()
    if hp.loss == "l1":
        return nn.L1Loss()
    if hp.loss == "huber":
        return nn.HuberLoss(delta=hp.huber_delta)
    raise ValueError(f"unknown loss {hp.loss!r}")


def fit(
    kind: str,
    train: Windows,
    features: tuple[str, ...],
    targets: tuple[str, ...],
    window: int,
    horizon: int,
    step_seconds: float,
    hp: RnnHyper,
    seed: int,
    device_request: str = "auto",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    time_budget_seconds: float | None = None,
) -> FitResult:
    if kind not in ("GRU", "LSTM"):
        raise ValueError(f"not a recurrent model type: {kind}")
    n = train.x.shape[0]
    if n < 20:
        raise ValueError(f"too few training windows ({n}); need at least 20")
    configure_threads()
    set_seeds(seed)
    device = pick_device(device_request)
    n_val = max(1, int(round(n * hp.val_fraction)))
    n_fit = n - n_val
    # Time-ordered split: the validation tail is the latest windows; statistics come from the fit part.
    fit_w = Windows(train.x[:n_fit], train.t[:n_fit], train.y[:n_fit], train.last[:n_fit])
    model = build_model(kind, fit_w, features, targets, window, horizon, step_seconds, hp).to(device)

    def tensors(sl: slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            torch.tensor(train.x[sl], dtype=torch.float32, device=device),
            torch.tensor(train.t[sl], dtype=torch.float64, device=device),
            torch.tensor(train.y[sl], dtype=torch.float32, device=device),
        )

    xf, tf, yf = tensors(slice(0, n_fit))
    xv, tv, yv = tensors(slice(n_fit, n))
    tmask = model.tgt_log
    y_scale = torch.tensor(train.y[:n_fit].reshape(-1, len(targets)).std(axis=0), dtype=torch.float32, device=device)
    y_scale = torch.where(y_scale > 0, y_scale, torch.ones_like(y_scale))
    base_loss = _loss_fn(hp)

    def target_delta(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        g_y = tmask * torch.log(torch.relu(y) + 1.0) + (1 - tmask) * y
        g_last = torch.index_select(model.transform(x[:, -1, :]), 1, model.target_idx).unsqueeze(1)
        return (g_y - g_last - model.delta_mean) / model.delta_std

    def loss_of(x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d, base = model.normalised_delta(x, t)
        if hp.loss_space == "raw":
            pred = model.inverse(d, base)
            return base_loss(pred / y_scale, y / y_scale)
        return base_loss(d, target_delta(x, y))

    opt = torch.optim.Adam(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    sched = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=hp.lr_decay, patience=hp.lr_decay_patience)
        if hp.lr_decay > 0
        else None
    )
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    best_state = copy.deepcopy(model.state_dict())
    with torch.no_grad():
        model.eval()
        best_val = require_finite_loss(float(loss_of(xv, tv, yv)), f"{kind} validation loss before training")
    best_epoch = 0
    history: list[dict[str, float]] = []
    started = time.monotonic()
    epoch = 0
    for epoch in range(1, hp.max_epochs + 1):
        model.train()
        perm = torch.randperm(n_fit, generator=gen).to(device)
        total = 0.0
        for i in range(0, n_fit, hp.batch_size):
            idx = perm[i : i + hp.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_of(xf[idx], tf[idx], yf[idx])
            loss.backward()
            if hp.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), hp.grad_clip)
            opt.step()
            total += float(loss.detach()) * idx.shape[0]
        model.eval()
        with torch.no_grad():
            val = float(loss_of(xv, tv, yv))
        rec = {"epoch": epoch, "train_loss": total / n_fit, "val_loss": val, "elapsed_seconds": time.monotonic() - started}
        history.append(rec)
        if on_epoch is not None:
            on_epoch(rec)
        # NaN weights never recover, and a non-finite validation loss never counts as an improvement.
        require_finite_loss(rec["train_loss"], f"{kind} training loss at epoch {epoch}")
        require_finite_loss(val, f"{kind} validation loss at epoch {epoch}")
        if sched is not None:
            sched.step(val)
        if val < best_val - 1e-7:
            best_val = val
            best_epoch = epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= hp.patience:
            break
        budget = hp.max_train_seconds if time_budget_seconds is None else min(hp.max_train_seconds, time_budget_seconds)
        elapsed = time.monotonic() - started
        # stop when the next epoch would likely cross the budget
        if elapsed + elapsed / epoch > budget:
            break
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(model=model.cpu(), epochs=epoch, best_epoch=best_epoch, best_val_loss=best_val, device=device.type, hyper=hp, history=history)


def predict(model: Forecaster, x: np.ndarray, t: np.ndarray, batch: int = 4096) -> np.ndarray:
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            xb = torch.tensor(x[i : i + batch], dtype=torch.float32)
            tb = torch.tensor(t[i : i + batch], dtype=torch.float64)
            outs.append(model(xb, tb).numpy())
    if not outs:
        return np.zeros((0, model.horizon, model.n_targets), dtype=np.float32)
    return np.concatenate(outs, axis=0)


OPSET = 17


def export_onnx(model: Forecaster, path: str) -> None:
    """Writes the raw-in, raw-out graph with inputs x, t and output y (dynamic batch)."""
    import warnings

    model = model.cpu().eval()
    x = torch.zeros(2, model.window, int(model.feat_mean.shape[0]), dtype=torch.float32)
    t = torch.full((2, model.horizon), 1.5e9, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x, t),
            path,
            dynamo=False,
            input_names=["x", "t"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}, "y": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    ensure_inputs(path, model.window, int(model.feat_mean.shape[0]), model.horizon)


def ensure_inputs(path: str, window: int, n_features: int, horizon: int) -> None:
    """Every model takes both ``x`` and ``t``: the exporter drops an unused input (``t`` without
    time-of-day features), so it is added back as an (ignored) graph input."""
    import onnx
    from onnx import TensorProto, helper

    m = onnx.load(path)
    names = [i.name for i in m.graph.input]
    if names == ["x", "t"]:
        return
    if "t" not in names:
        m.graph.input.append(helper.make_tensor_value_info("t", TensorProto.DOUBLE, ["batch", horizon]))
    if "x" not in names:
        m.graph.input.insert(0, helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", window, n_features]))
    onnx.checker.check_model(m)
    onnx.save(m, path)
