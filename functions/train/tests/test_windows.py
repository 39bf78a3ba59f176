"""Sliding windows never span a gap in the timestamps larger than the tolerance."""

from __future__ import annotations

import numpy as np

from conftest import frame_to_series, synthetic_frame
from flts_train.data import make_windows, window_starts
from flts_train.metrics import per_target, persistence
from flts_train.shape import Shape


def test_window_starts_skip_gaps() -> None:
    times = np.array([0, 120, 240, 360, 1200, 1320, 1440, 1560, 1680], dtype=np.float64)
    # window 2 + horizon 1 = 3 rows; the 360 -> 1200 gap (840 s) exceeds 360 s
    assert window_starts(times, 2, 1, 360).tolist() == [0, 1, 4, 5, 6]
    assert window_starts(times, 2, 1, 1000).tolist() == list(range(7))
    assert window_starts(times[:2], 2, 1, 360).tolist() == []


def test_make_windows_shapes_and_alignment() -> None:
    s = frame_to_series(synthetic_frame(50, gap_at=20))
    feats = s.columns
    w = make_windows(s, Shape(window=5, horizon=2, features=feats, targets=("down", "up"), step_seconds=3600.0), gap_tolerance=3600 * 1.5)
    assert w.x.shape[1:] == (5, 11) and w.y.shape[1:] == (2, 2) and w.t.shape[1:] == (2,)
    # 50 rows, span 7 -> 44 starts, minus the 6 that straddle the gap between rows 19 and 20
    assert w.x.shape[0] == 44 - 6
    steps = np.diff(np.concatenate([w.t[:, :1] - 3600 * 5, w.t], axis=1), axis=1)
    assert np.all(steps[:, 1:] == 3600)
    # last observed value and persistence baseline
    np.testing.assert_array_equal(w.last, w.x[:, -1, :2])
    p = persistence(w.last, 2)
    assert p.shape == w.y.shape
    m = per_target(p, w.y, ("down", "up"))
    assert set(m) == {"down", "up"}
    assert abs(m["down"]["rmse"] ** 2 - m["down"]["mse"]) <= 1e-9 * m["down"]["mse"]


def test_time_as_epoch_seconds_is_accepted() -> None:
    from conftest import parquet_bytes
    from flts_train.data import read_parquet_bytes

    df = synthetic_frame(30)
    a = read_parquet_bytes(parquet_bytes(df), "ts")
    b = read_parquet_bytes(parquet_bytes(df, time_as_epoch=True), "epoch")
    np.testing.assert_allclose(a.times, b.times)
    assert a.columns == b.columns and a.columns[0] == "down"
