"""ONNX outputs equal the native model's (PyTorch, Prophet.predict) on the same inputs: relative error < 1e-4."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from conftest import frame_to_series, synthetic_frame
from flts_train.data import Series, Windows, make_windows
from flts_train.models import prophet_export as pe
from flts_train.models import rnn, rnn_fit
from flts_train.shape import Shape
from flts_train.train import onnx_session

Case = tuple[Series, Shape, Windows]

REL = 1e-4


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)) / np.maximum(np.abs(b), 1.0)))


@pytest.fixture(scope="module")
def windows() -> Case:
    s = frame_to_series(synthetic_frame(700, step=1800.0, seed=3))
    shape = Shape(window=12, horizon=3, features=s.columns, targets=("down", "up"), step_seconds=1800.0)
    return s, shape, make_windows(s, shape, gap_tolerance=3600)


@pytest.mark.parametrize(("kind", "time_of_day"), [("GRU", True), ("LSTM", True), ("GRU", False)])
def test_rnn_onnx_matches_pytorch(kind: str, time_of_day: bool, windows: Case) -> None:
    _, shape, w = windows
    hp = rnn.RnnHyper(hidden_size=16, max_epochs=2, batch_size=64, time_of_day=time_of_day)
    res = rnn_fit.fit(kind, w, shape, hp, seed=1, quantiles=(0.1, 0.5, 0.9))
    assert torch_is_not_persistence(res.model, w)
    data = rnn.export_onnx(res.model)
    model = onnx.load_from_string(data)
    ops = {n.op_type for n in model.graph.node}
    assert kind in ops, f"no ONNX {kind} operator in {sorted(ops)}"
    assert [i.name for i in model.graph.input] == ["x", "t"]
    assert [o.name for o in model.graph.output] == ["y", "q"]
    sess = onnx_session(data)
    for n in (1, 5, 64):  # dynamic batch axis
        x, t = w.x[:n].astype(np.float32), w.t[:n]
        got, got_q = sess.run(["y", "q"], {"x": x, "t": t})
        want = rnn.predict(res.model, x.astype(np.float64), t)
        assert got.shape == (n, 3, 2) and got.dtype == np.float32
        assert got_q.shape == (n, 3, 2, 3) and got_q.dtype == np.float32
        assert rel_err(got, want) < REL
        assert rel_err(got_q, rnn.predict_quantiles(res.model, x.astype(np.float64), t)) < REL
    # t carries the time of day into the graph (when enabled): shifting it by 6 h changes y
    shifted = sess.run(["y"], {"x": w.x[:8].astype(np.float32), "t": w.t[:8] + 6 * 3600.0})[0]
    base = sess.run(["y"], {"x": w.x[:8].astype(np.float32), "t": w.t[:8]})[0]
    assert (rel_err(shifted, base) > 1e-6) == time_of_day


def torch_is_not_persistence(model: rnn.Forecaster, w: Windows) -> bool:
    """Guards the parity test against a trivially untrained head (output == last value)."""
    pred = rnn.predict(model, w.x[:50], w.t[:50])
    return bool(np.max(np.abs(pred[:, 0, :] / w.last[:50] - 1.0)) > 1e-3)


def test_prophet_onnx_matches_predict(windows: Case) -> None:
    s, shape, w = windows
    models = [pe.fit_prophet(s.times, s.select([name])[:, 0], pe.ProphetHyper(), seed=0) for name in ("down", "up")]
    assert all(m.changepoints_t is not None and len(m.changepoints_t) > 0 for m in models)
    offsets = np.sort(np.random.default_rng(1).normal(0.0, 1e5, (3, 2, 3)), axis=-1)
    graph = pe.build_graph(models, shape, offsets)
    sess = onnx_session(graph.SerializeToString())
    # inside the training range (overlapping windows, shuffled), and 30 days ahead (past the last changepoint)
    t_in = w.t[np.random.default_rng(0).permutation(w.t.shape[0])[:200]]
    t_out = w.t[::7] + 30 * 86400.0
    for t in (t_in, t_out):
        x = np.zeros((t.shape[0], 12, shape.n_features), dtype=np.float32)
        got, got_q = sess.run(["y", "q"], {"x": x, "t": t})
        want = np.stack([pe.prophet_predict(m, t) for m in models], axis=-1)
        assert got.shape == (t.shape[0], 3, 2)
        assert rel_err(got, want) < REL
        assert rel_err(got_q, want[..., None] + offsets) < REL


def test_prophet_multiplicative_seasonality_parity() -> None:
    s = frame_to_series(synthetic_frame(400, step=3600.0, seed=5))
    hp = pe.ProphetHyper(seasonality_mode="multiplicative")
    m = pe.fit_prophet(s.times, s.select(["rnti_count"])[:, 0] + 100.0, hp, seed=0)
    shape = Shape(window=4, horizon=2, features=s.columns, targets=("rnti_count",), step_seconds=3600.0)
    sess = onnx_session(pe.build_graph([m], shape).SerializeToString())
    t = (s.times[-20:] + 7200.0).reshape(10, 2)
    got = sess.run(["y"], {"x": np.zeros((10, 4, 11), np.float32), "t": t})[0]
    assert rel_err(got[..., 0], pe.prophet_predict(m, t)) < REL
