"""Prophet's q: the point plus validation-residual offsets, in the graph and natively, on a real slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from flts_train.data import Series, Windows, make_windows, read_csv
from flts_train.models.base import FitJob, Fitted
from flts_train.models.prophet_strategy import Prophet
from flts_train.shape import Shape
from flts_train.train import onnx_session

LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)
DATA = Path(__file__).resolve().parents[3] / "data" / "PobleSec.csv"


@pytest.fixture(scope="module")
def fitted() -> tuple[Fitted, Windows]:
    """PobleSec: 8,000 train rows (11 days), the next 1,500 as test, horizon 4."""
    s = read_csv(str(DATA))

    def rows(a: int, b: int) -> Series:
        return Series(times=s.times[a:b], columns=s.columns, values=s.values[a:b])

    shape = Shape(window=10, horizon=4, features=s.columns, targets=("down", "up"), step_seconds=120.0)
    train = rows(0, 8000)
    job = FitJob("PROPHET", shape, train, make_windows(train, shape, 360.0), 0, "cpu", None, quantiles=LEVELS)
    return Prophet().fit(job), make_windows(rows(8000, 9500), shape, 360.0)


def test_graph_q_is_the_point_plus_ascending_offsets_and_matches_the_native_quantiles(fitted: tuple[Fitted, Windows]) -> None:
    fit, test = fitted
    assert fit.predict_quantiles is not None and fit.validation is None
    assert [o.name for o in onnx.load_from_string(fit.onnx_bytes).graph.output] == ["y", "q"]
    y, q = onnx_session(fit.onnx_bytes).run(["y", "q"], {"x": test.x.astype(np.float32), "t": test.t})
    assert q.shape == (test.x.shape[0], 4, 2, len(LEVELS)) and q.dtype == np.float32
    assert np.all(np.diff(q, axis=-1) >= 0)
    offsets = q - y[..., None]  # the same for every window
    np.testing.assert_allclose(offsets, np.broadcast_to(offsets[:1], offsets.shape), rtol=0, atol=1e-6 * float(np.abs(q).max()))
    native = fit.predict_quantiles(test)
    assert float(np.max(np.abs(q - native) / np.maximum(np.abs(native), 1.0))) < 1e-6  # no cancellation where q ~ 0


def test_the_outer_interval_covers_a_sane_share_of_the_test_slice(fitted: tuple[Fitted, Windows]) -> None:
    fit, test = fitted
    assert fit.predict_quantiles is not None
    q = fit.predict_quantiles(test)
    for lo, hi, low_band, high_band in ((1, 3, 0.5, 0.97), (0, 4, 0.6, 0.995)):  # 0.1-0.9, 0.05-0.95
        inside = (test.y >= q[..., lo]) & (test.y <= q[..., hi])
        for j in range(2):
            assert low_band <= float(inside[..., j].mean()) <= high_band, (lo, hi, j, float(inside[..., j].mean()))
