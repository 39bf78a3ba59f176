"""Prophet: one fit per target, one graph for every target.

Its quantiles are the point plus raw-unit offsets: split-conformal quantiles of the residuals on the validation
slice of the train windows. Prophet fitted those rows too (its residuals there are in sample), and its forecast does
not depend on the window, so the offsets stand in for its observation noise (``sigma_obs``) without a normal shape.
"""

from __future__ import annotations

import time

import numpy as np

from .. import log
from ..data import Windows, validation_split
from . import conformal
from .base import FitJob, Fitted, timed


class Prophet:
    def fit(self, job: FitJob) -> Fitted:
        from . import prophet_export as pe  # prophet loads only for this type

        hp = pe.ProphetHyper(**job.overrides)
        models = []
        with timed() as fit_clock:
            for j, name in enumerate(job.shape.targets):
                t_fit = time.monotonic()
                models.append(pe.fit_prophet(job.train.times, job.train.select([name])[:, 0], hp, job.seed))
                log.info("prophet_fit", target=name, seconds=round(time.monotonic() - t_fit, 3), index=j)

        def predict(w: Windows) -> np.ndarray:
            return np.stack([pe.prophet_predict(m, w.t) for m in models], axis=-1)

        raw = np.zeros(job.shape.n_targets, dtype=bool)  # offsets in raw units: q = y + offset
        w = job.train_windows
        start = validation_split(w.x.shape[0])
        val = Windows(w.x[start:], w.t[start:], w.y[start:], w.last[start:])
        offsets = conformal.offsets(predict(val), val.y, raw, job.quantiles)
        with timed() as export_clock:
            model_bytes = pe.build_graph(models, job.shape, offsets).SerializeToString()

        return Fitted(
            onnx_bytes=model_bytes,
            predict=predict,
            predict_quantiles=lambda w: conformal.apply(predict(w), offsets, raw),
            reference="prophet.predict",
            hyperparameters={**hp.to_dict(), "opset": pe.OPSET, "quantile_offsets": "validation_slice_residuals_raw"},
            device="cpu",
            epochs=0,
            train_seconds=fit_clock.seconds,
            export_seconds=export_clock.seconds,
        )
