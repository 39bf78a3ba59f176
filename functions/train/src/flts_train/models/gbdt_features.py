"""GBDT features, computed by one ONNX subgraph from ``x`` and ``t`` (used in the exported graph and, through
onnxruntime, to train and to predict natively, so the trees always see the same float32 features).

``lags`` [B, W·F]: every column through g (log1p where ``log_mask``), each earlier row as its difference to the
last row, then the last row itself. ``tod`` [B, H, 2]: sin/cos of each forecast step's own time of day.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from ..shape import Shape
from .graph_parts import GraphBuilder, checked_model, day_phase, g_nodes, input_infos, relative_rows

ML_OPSET = 3
LAGS = "gbdt_lags"
TOD = "gbdt_tod"
ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float literal): |x| at or below it reads as 0


def flush_tiny(b: GraphBuilder, v: str) -> str:
    """0 where |v| <= ZERO_THRESHOLD, as LightGBM reads such a feature, so the graph's trees branch as LightGBM's."""
    return b.op("Where", [b.op("Greater", [b.op("Abs", [v]), b.const(ZERO_THRESHOLD)]), v, b.const(0.0)])


def add_feature_nodes(b: GraphBuilder, shape: Shape, log_mask: np.ndarray) -> None:
    """Nodes from the inputs ``x``, ``t`` to the tensors ``LAGS`` and ``TOD``."""
    w, wf = shape.window, shape.window * shape.n_features
    rel = relative_rows(b, g_nodes(b, "x", log_mask), w)
    b.op("Reshape", [flush_tiny(b, rel), b.const([-1, wf], np.int64)], output=LAGS)
    phase = day_phase(b, "t")
    axis2 = b.const([2], np.int64)
    sin = b.op("Unsqueeze", [b.op("Sin", [phase]), axis2])
    cos = b.op("Unsqueeze", [b.op("Cos", [phase]), axis2])
    tod = b.op("Concat", [sin, cos], axis=2)
    b.op("Identity", [flush_tiny(b, tod)], output=TOD)


def feature_model(shape: Shape, log_mask: np.ndarray) -> onnx.ModelProto:
    b = GraphBuilder("gbdt")
    add_feature_nodes(b, shape, log_mask)
    outs = [
        helper.make_tensor_value_info(LAGS, TensorProto.FLOAT, ["batch", shape.window * shape.n_features]),
        helper.make_tensor_value_info(TOD, TensorProto.FLOAT, ["batch", shape.horizon, 2]),
    ]
    return checked_model(helper.make_graph(b.nodes, "gbdt_features", input_infos(shape), outs, b.inits))


class Features:
    """The feature subgraph run by onnxruntime: ``lags`` [n, W·F] and ``tod`` [n, H, 2] (float32) of windows."""

    def __init__(self, shape: Shape, log_mask: np.ndarray) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        self.shape = shape
        self.session = ort.InferenceSession(
            feature_model(shape, log_mask).SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def __call__(self, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lags, tod = self.session.run([LAGS, TOD], {"x": x.astype(np.float32), "t": t.astype(np.float64)})
        return np.asarray(lags), np.asarray(tod)

    def base(self, lags: np.ndarray) -> np.ndarray:
        """g of the last target values [n, T] (the last row's block of ``lags``)."""
        offset = (self.shape.window - 1) * self.shape.n_features
        return lags[:, [offset + j for j in self.shape.target_idx]].astype(np.float64)


def direct_rows(lags: np.ndarray, tod: np.ndarray) -> np.ndarray:
    """Rows of the one-step model: lags and the first step's time of day [n, W·F + 2]."""
    return np.concatenate([lags, tod[:, 0, :]], axis=1)


def stacked_rows(lags: np.ndarray, tod: np.ndarray, steps: tuple[int, ...]) -> np.ndarray:
    """Rows of the stacked model, window-major: (window i, step s) at row i·len(steps) + k [n·S, W·F + 3]."""
    n, s = lags.shape[0], len(steps)
    idx = np.asarray(steps, dtype=np.int64) - 1
    step_col = np.broadcast_to(np.asarray(steps, dtype=np.float32)[None, :, None], (n, s, 1))
    rows: np.ndarray = np.concatenate([np.broadcast_to(lags[:, None, :], (n, s, lags.shape[1])), tod[:, idx, :], step_col], axis=2)
    return rows.reshape(n * s, -1)
