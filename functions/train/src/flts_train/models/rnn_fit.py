"""Training of the recurrent forecasters: time-ordered validation tail, early stopping, fixed seeds."""

from __future__ import annotations

import copy
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import DataError, Windows, validation_split
from ..finite import require_finite_loss
from ..shape import Shape
from .rnn import CELLS, Forecaster, RnnHyper, build_model

MIN_WINDOWS = 20
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # x, t, y


@dataclass
class FitResult:
    model: Forecaster
    epochs: int
    best_epoch: int
    best_val_loss: float
    device: str
    hyper: RnnHyper
    history: list[dict[str, float]]
    val_start: int  # the first validation window (the tail early stopping selects on)


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


def _loss_fn(hp: RnnHyper) -> Loss:
    if hp.loss == "mse":
        return nn.MSELoss()
    if hp.loss == "l1":
        return nn.L1Loss()
    if hp.loss == "huber":
        return nn.HuberLoss(delta=hp.huber_delta)
    raise ValueError(f"unknown loss {hp.loss!r}")


def pinball(q: torch.Tensor, target: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss of quantiles q [..., Q] at ``levels`` [Q] against target [...]."""
    err = target.unsqueeze(-1) - q
    return torch.mean(torch.maximum(levels * err, (levels - 1.0) * err))


def _objective(
    model: Forecaster, hp: RnnHyper, y_scale: torch.Tensor, levels: torch.Tensor
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss of a batch, in the normalised delta space or (``loss_space`` raw) in scaled raw units: the
    point loss plus the quantiles' pinball loss."""
    base_loss = _loss_fn(hp)
    tmask = model.tgt_log

    def target_delta(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        g_y = tmask * torch.log(torch.relu(y) + 1.0) + (1 - tmask) * y
        g_last = torch.index_select(model.transform(x[:, -1, :]), 1, model.target_idx).unsqueeze(1)
        return (g_y - g_last - model.delta_mean) / model.delta_std

    def loss_of(x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d, qd, base = model.normalised_delta(x, t)
        if hp.loss_space == "raw":
            scale = y_scale[:, None]
            point = base_loss(model.inverse(d, base) / y_scale, y / y_scale)
            return point + pinball(model.inverse_quantiles(qd, base) / scale, y / y_scale, levels)
        target = target_delta(x, y)
        return base_loss(d, target) + pinball(qd, target, levels)

    return loss_of


def fit(
    kind: str,
    train: Windows,
    shape: Shape,
    hp: RnnHyper,
    seed: int,
    *,
    quantiles: Sequence[float],
    device_request: str = "auto",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    time_budget_seconds: float | None = None,
) -> FitResult:
    if kind not in CELLS:
        raise ValueError(f"not a recurrent model type: {kind}")
    n = train.x.shape[0]
    if n < MIN_WINDOWS:
        raise DataError(f"train data yields only {n} windows; need at least {MIN_WINDOWS}")
    configure_threads()
    set_seeds(seed)
    device = pick_device(device_request)
    n_fit = validation_split(n, hp.val_fraction)
    # Time-ordered split: the validation tail is the latest windows; statistics come from the fit part.
    fit_w = Windows(train.x[:n_fit], train.t[:n_fit], train.y[:n_fit], train.last[:n_fit])
    model = build_model(kind, fit_w, shape, hp, quantiles).to(device)

    def tensors(sl: slice) -> Batch:
        return (
            torch.tensor(train.x[sl], dtype=torch.float32, device=device),
            torch.tensor(train.t[sl], dtype=torch.float64, device=device),
            torch.tensor(train.y[sl], dtype=torch.float32, device=device),
        )

    y_scale = torch.tensor(train.y[:n_fit].reshape(-1, shape.n_targets).std(axis=0), dtype=torch.float32, device=device)
    y_scale = torch.where(y_scale > 0, y_scale, torch.ones_like(y_scale))
    levels = torch.tensor(list(quantiles), dtype=torch.float32, device=device)
    loss_of = _objective(model, hp, y_scale, levels)
    loop = _Loop(kind, model, hp, seed, loss_of, on_epoch)
    epoch = loop.run(tensors(slice(0, n_fit)), tensors(slice(n_fit, n)), time_budget_seconds)
    model.load_state_dict(loop.best_state)
    model.eval()
    return FitResult(
        model=model.cpu(),
        epochs=epoch,
        best_epoch=loop.best_epoch,
        best_val_loss=loop.best_val,
        device=device.type,
        hyper=hp,
        history=loop.history,
        val_start=n_fit,
    )


class _Loop:
    """Epochs of Adam over shuffled batches; keeps the state of the best validation loss."""

    def __init__(
        self,
        kind: str,
        model: Forecaster,
        hp: RnnHyper,
        seed: int,
        loss_of: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
        on_epoch: Callable[[dict[str, float]], None] | None,
    ) -> None:
        self.kind, self.model, self.hp, self.loss_of, self.on_epoch = kind, model, hp, loss_of, on_epoch
        self.opt = torch.optim.Adam(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        self.sched = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(self.opt, factor=hp.lr_decay, patience=hp.lr_decay_patience)
            if hp.lr_decay > 0
            else None
        )
        self.gen = torch.Generator(device="cpu")
        self.gen.manual_seed(seed)
        self.best_state = copy.deepcopy(model.state_dict())
        self.best_epoch = 0
        self.best_val = float("inf")
        self.history: list[dict[str, float]] = []

    def validate(self, val: Batch) -> float:
        self.model.eval()
        with torch.no_grad():
            return float(self.loss_of(*val))

    def train_epoch(self, fit: Batch) -> float:
        """Mean training loss of one pass over the fit windows."""
        self.model.train()
        xf, tf, yf = fit
        n_fit = xf.shape[0]
        perm = torch.randperm(n_fit, generator=self.gen).to(xf.device)
        total = 0.0
        for i in range(0, n_fit, self.hp.batch_size):
            idx = perm[i : i + self.hp.batch_size]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_of(xf[idx], tf[idx], yf[idx])
            torch.autograd.backward(loss)
            if self.hp.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.hp.grad_clip)
            self.opt.step()
            total += float(loss.detach()) * idx.shape[0]
        return total / n_fit

    def run(self, fit: Batch, val: Batch, time_budget_seconds: float | None) -> int:
        """Trains until early stopping, ``max_epochs`` or the time budget; returns the last epoch."""
        kind, hp = self.kind, self.hp
        self.best_val = require_finite_loss(self.validate(val), f"{kind} validation loss before training")
        budget = hp.max_train_seconds if time_budget_seconds is None else min(hp.max_train_seconds, time_budget_seconds)
        started = time.monotonic()
        epoch = 0
        for epoch in range(1, hp.max_epochs + 1):
            train_loss = self.train_epoch(fit)
            val_loss = self.validate(val)
            rec = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "elapsed_seconds": time.monotonic() - started}
            self.history.append(rec)
            if self.on_epoch is not None:
                self.on_epoch(rec)
            # NaN weights never recover, and a non-finite validation loss never counts as an improvement.
            require_finite_loss(train_loss, f"{kind} training loss at epoch {epoch}")
            require_finite_loss(val_loss, f"{kind} validation loss at epoch {epoch}")
            if self.sched is not None:
                self.sched.step(val_loss)
            if val_loss < self.best_val - 1e-7:
                self.best_val = val_loss
                self.best_epoch = epoch
                self.best_state = copy.deepcopy(self.model.state_dict())
            elif epoch - self.best_epoch >= hp.patience:
                break
            elapsed = time.monotonic() - started
            # stop when the next epoch would likely cross the budget
            if elapsed + elapsed / epoch > budget:
                break
        return epoch
