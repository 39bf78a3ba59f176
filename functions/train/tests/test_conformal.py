"""Split-conformal offsets: the finite-sample quantile, the log-space transform, and the ONNX nodes that apply them."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from conftest import frame_to_series, synthetic_frame
from flts_train.models import conformal


def test_order_statistic_is_the_finite_sample_rank() -> None:
    # n = 9: upper 0.9 -> ceil(10 * 0.9) = 9; lower 0.1 -> floor(10 * 0.1) = 1; 0.5 -> ceil(5) = 5 (the median)
    assert [conformal.order_statistic(9, q) for q in (0.1, 0.5, 0.9)] == [1, 5, 9]
    # n = 99: ranks 10 and 90 of 99
    assert [conformal.order_statistic(99, q) for q in (0.1, 0.9)] == [10, 90]
    # too few residuals for the level: clipped to the sample
    assert conformal.order_statistic(3, 0.95) == 3 and conformal.order_statistic(3, 0.05) == 1


def test_offsets_pick_the_order_statistics_per_step_and_target() -> None:
    n = 99
    rng = np.random.default_rng(1)
    # residuals 1..99 shuffled, scaled differently per step and target; no log transform
    base = rng.permutation(np.arange(1, n + 1, dtype=np.float64))
    scale = np.array([[1.0, 2.0], [3.0, 4.0]])  # [h, k]
    truth = base[:, None, None] * scale[None]
    pred = np.zeros_like(truth)
    offs = conformal.offsets(pred, truth, np.array([False, False]), [0.1, 0.5, 0.9])
    assert offs.shape == (2, 2, 3)
    np.testing.assert_allclose(offs, scale[..., None] * np.array([10.0, 50.0, 90.0]))


def test_offsets_cover_new_draws_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(7)
    n_cal, n_new = 500, 20_000
    pred_cal = rng.uniform(1e3, 1e5, size=(n_cal, 3, 1))
    truth_cal = pred_cal * np.exp(0.3 * rng.standard_normal(pred_cal.shape))
    mask = np.array([True])
    offs = conformal.offsets(pred_cal, truth_cal, mask, [0.1, 0.5, 0.9])
    pred_new = rng.uniform(1e3, 1e5, size=(n_new, 3, 1))
    truth_new = pred_new * np.exp(0.3 * rng.standard_normal(pred_new.shape))
    q = conformal.apply(pred_new, offs, mask)
    assert q.shape == (n_new, 3, 1, 3) and q.dtype == np.float32
    inside = (truth_new >= q[..., 0]) & (truth_new <= q[..., 2])
    assert 0.78 <= float(inside.mean()) <= 0.83
    # the log-space offsets of a multiplicative error are about ±1.2816·0.3
    np.testing.assert_allclose(offs[..., 0], -0.3 * 1.2816, atol=0.05)
    np.testing.assert_allclose(offs[..., 2], 0.3 * 1.2816, atol=0.05)


def test_offsets_are_sorted_and_apply_keeps_the_order() -> None:
    rng = np.random.default_rng(3)
    pred = rng.uniform(0, 5000, size=(40, 4, 2))
    truth = pred + rng.normal(0, 300, size=pred.shape)
    mask = np.array([True, False])
    offs = conformal.offsets(pred, truth, mask, [0.05, 0.25, 0.5, 0.75, 0.95])
    assert np.all(np.diff(offs, axis=-1) >= 0)
    q = conformal.apply(pred, offs, mask)
    assert np.all(np.diff(q, axis=-1) >= 0)


def test_offsets_refuse_bad_input() -> None:
    p = np.zeros((5, 1, 1))
    with pytest.raises(ValueError, match="ascending"):
        conformal.offsets(p, p, np.array([False]), [0.9, 0.1])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        conformal.offsets(p, p, np.array([False]), [0.0, 0.5])
    with pytest.raises(ValueError, match=r"\[n, horizon, n_targets\]"):
        conformal.offsets(p, np.zeros((5, 2, 1)), np.array([False]), [0.5])
    with pytest.raises(ValueError, match="at least one"):
        conformal.offsets(p[:0], p[:0], np.array([False]), [0.5])
    with pytest.raises(ValueError, match="not finite"):
        conformal.offsets(p, np.full_like(p, np.nan), np.array([False]), [0.5])


def test_log_targets_follow_the_volume_rule() -> None:
    s = frame_to_series(synthetic_frame(200))
    assert conformal.log_targets(s, ["down", "up", "mcs_down"]).tolist() == [True, True, False]


def _graph(offs: np.ndarray, mask: np.ndarray, h: int, k: int) -> ort.InferenceSession:
    nodes, inits = conformal.onnx_nodes("y", offs, mask)
    graph = helper.make_graph(
        nodes,
        "conformal",
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", h, k])],
        [helper.make_tensor_value_info("q", TensorProto.FLOAT, ["batch", h, k, offs.shape[-1]])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("mask", [[True, False, True], [False, False, False]])
def test_onnx_nodes_equal_apply(mask: list[bool]) -> None:
    rng = np.random.default_rng(11)
    log_mask = np.array(mask)
    h, k = 5, 3
    pred_cal = rng.uniform(-50, 1e6, size=(300, h, k))
    truth_cal = np.maximum(pred_cal * np.exp(0.4 * rng.standard_normal(pred_cal.shape)), 0) + rng.normal(0, 10, pred_cal.shape)
    offs = conformal.offsets(pred_cal, truth_cal, log_mask, [0.1, 0.5, 0.9])
    # negative point forecasts too (log columns clamp at 0), and huge ones (the exp cap)
    y = np.concatenate([rng.uniform(-100, 1e6, size=(64, h, k)), np.full((1, h, k), 3e38)]).astype(np.float32)
    want = conformal.apply(y, offs, log_mask)
    got = _graph(offs, log_mask, h, k).run(["q"], {"y": y})[0]
    assert got.shape == (65, h, k, 3) and got.dtype == np.float32
    assert np.all(np.isfinite(got[:-1]))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-3)
