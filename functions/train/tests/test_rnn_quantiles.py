"""GRU/LSTM quantile heads: monotone q, the pinball loss they are trained with, coverage on a real slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from flts_train.data import Series, Windows, make_windows, read_csv
from flts_train.models import rnn, rnn_fit
from flts_train.shape import Shape
from flts_train.train import onnx_session

LEVELS = (0.1, 0.5, 0.9)
DATA = Path(__file__).resolve().parents[3] / "data" / "PobleSec.csv"


def pinball(q: np.ndarray, y: np.ndarray, levels: tuple[float, ...]) -> float:
    err = y[..., None] - q
    lv = np.asarray(levels)
    return float(np.mean(np.maximum(lv * err, (lv - 1.0) * err)))


@pytest.fixture(scope="module")
def slice_windows() -> tuple[Shape, Windows, Windows]:
    """PobleSec: 3,000 train rows, the next 1,200 as test, horizon 5."""
    s = read_csv(str(DATA))

    def rows(a: int, b: int) -> Series:
        return Series(times=s.times[a:b], columns=s.columns, values=s.values[a:b])

    shape = Shape(window=10, horizon=5, features=s.columns, targets=("down", "up"), step_seconds=120.0)
    return shape, make_windows(rows(0, 3000), shape, 360.0), make_windows(rows(3000, 4200), shape, 360.0)


def test_quantile_head_starts_monotone_around_the_point_and_never_crosses() -> None:
    head = rnn.QuantileHead(hidden_size=4, horizon=2, n_targets=3, levels=(0.05, 0.25, 0.5, 0.75, 0.95))
    assert head.anchor == 2
    point = torch.randn(7, 2, 3)
    q = head(torch.zeros(7, 4), point)
    assert q.shape == (7, 2, 3, 5)
    torch.testing.assert_close(q[..., 2], point)  # the median starts at the point
    torch.testing.assert_close(q[..., 4] - q[..., 2], torch.full((7, 2, 3), 1.6449), atol=1e-3, rtol=0)  # N(0, 1) 0.95
    with torch.no_grad():
        head.linear.weight.normal_(0.0, 5.0)  # any weights: the increments are softplus, so q stays ordered
    q = head(torch.randn(50, 4) * 10, torch.randn(50, 2, 3))
    assert bool(torch.all(q[..., 1:] >= q[..., :-1]))


@pytest.mark.parametrize("levels", [(), (0.5, 0.5), (0.0, 0.5), (0.9, 0.1)])
def test_quantile_levels_outside_the_open_interval_or_unordered_are_refused(levels: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="ascending in"):
        rnn.QuantileHead(4, 2, 1, levels)


def test_pinball_is_the_mean_check_loss() -> None:
    q = torch.tensor([[1.0, 2.0, 3.0]])
    got = rnn_fit.pinball(q, torch.tensor([2.5]), torch.tensor(LEVELS))
    # errors 1.5, 0.5, -0.5: 0.1*1.5, 0.5*0.5, 0.1*0.5
    assert float(got) == pytest.approx((0.15 + 0.25 + 0.05) / 3)


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_trained_quantiles_beat_the_untrained_head_and_cover_the_test_slice(
    kind: str, slice_windows: tuple[Shape, Windows, Windows]
) -> None:
    shape, train, test = slice_windows
    hp = rnn.RnnHyper(hidden_size=16, max_epochs=6, batch_size=128)
    res = rnn_fit.fit(kind, train, shape, hp, seed=4, quantiles=LEVELS, device_request="cpu")
    q = rnn.predict_quantiles(res.model, test.x, test.t)
    assert q.shape == (test.x.shape[0], 5, 2, 3)
    assert np.all(np.diff(q, axis=-1) >= 0)
    untrained = rnn.build_model(kind, Windows(*(a[: res.val_start] for a in (train.x, train.t, train.y, train.last))), shape, hp, LEVELS)
    q0 = rnn.predict_quantiles(untrained, test.x, test.t)
    for j in range(2):
        assert pinball(q[:, :, j], test.y[:, :, j], LEVELS) < 0.97 * pinball(q0[:, :, j], test.y[:, :, j], LEVELS)
        inside = (test.y[:, :, j] >= q[:, :, j, 0]) & (test.y[:, :, j] <= q[:, :, j, -1])
        assert 0.5 <= float(inside.mean()) <= 0.97, (j, float(inside.mean()))
    sess = onnx_session(rnn.export_onnx(res.model))
    got = sess.run(["q"], {"x": test.x[:64].astype(np.float32), "t": test.t[:64]})[0]
    np.testing.assert_allclose(got, q[:64], rtol=1e-4, atol=1e-2)
