"""Prophet: one fit per target, one graph for every target."""

from __future__ import annotations

import time

import numpy as np

from .. import log
from ..data import Windows
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
        with timed() as export_clock:
            model_bytes = pe.build_graph(models, job.shape).SerializeToString()

        def predict(w: Windows) -> np.ndarray:
            return np.stack([pe.prophet_predict(m, w.t) for m in models], axis=-1)

        return Fitted(
            onnx_bytes=model_bytes,
            predict=predict,
            reference="prophet.predict",
            hyperparameters={**hp.to_dict(), "opset": pe.OPSET},
            device="cpu",
            epochs=0,
            train_seconds=fit_clock.seconds,
            export_seconds=export_clock.seconds,
        )
