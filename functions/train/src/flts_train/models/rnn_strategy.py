"""GRU and LSTM: the recurrent strategy (one instance per cell type)."""

from __future__ import annotations

import numpy as np
import onnx

from .. import log, tracking
from .base import FitJob, Fitted, ValidationPredictions, timed


class Recurrent:
    def __init__(self, cell: str) -> None:
        self.cell = cell

    def fit(self, job: FitJob) -> Fitted:
        from . import rnn, rnn_fit  # torch loads only for the recurrent types

        hp = rnn.RnnHyper(**job.overrides)
        hp.max_epochs = job.max_epochs or hp.max_epochs

        def on_epoch(rec: dict[str, float]) -> None:
            log.info("epoch", model_type=self.cell, max_epochs=hp.max_epochs, **rec)
            tracking.epoch(rec)

        with timed() as fit_clock:
            res = rnn_fit.fit(
                self.cell,
                job.train_windows,
                job.shape,
                hp,
                job.seed,
                quantiles=job.quantiles,
                device_request=job.device,
                on_epoch=on_epoch,
                time_budget_seconds=job.time_budget_seconds,
            )
        log.info(
            "trained",
            model_type=self.cell,
            epochs=res.epochs,
            best_epoch=res.best_epoch,
            train_seconds=round(fit_clock.seconds, 3),
            device=res.device,
        )
        with timed() as export_clock:
            model_bytes = rnn.export_onnx(res.model)
            ops = {n.op_type for n in onnx.load_from_string(model_bytes).graph.node}
            if self.cell not in ops:
                raise RuntimeError(f"exported graph has no ONNX {self.cell} operator (ops: {sorted(ops)})")
        hyper = hp.to_dict()
        hyper.update(
            {
                "best_epoch": res.best_epoch,
                "log1p_features": [f for f, m in zip(job.shape.features, res.model.feat_log.tolist(), strict=True) if m > 0],
                "target_mode": "delta_from_last_in_transformed_space",
                "opset": rnn.OPSET,
                "quantile_head": "point_plus_softplus_steps_pinball",
            }
        )
        w = job.train_windows
        val = slice(res.val_start, w.x.shape[0])
        val_y = rnn.predict(res.model, w.x[val], w.t[val]).astype(np.float32)
        return Fitted(
            onnx_bytes=model_bytes,
            predict=lambda w: rnn.predict(res.model, w.x, w.t),
            predict_quantiles=lambda w: rnn.predict_quantiles(res.model, w.x, w.t),
            reference="torch",
            hyperparameters=hyper,
            device=res.device,
            epochs=res.epochs,
            train_seconds=fit_clock.seconds,
            export_seconds=export_clock.seconds,
            # early stopping selected the epoch on this slice: in sample for ensemble weighting
            validation=ValidationPredictions(start=res.val_start, y=val_y, out_of_sample=False),
        )
