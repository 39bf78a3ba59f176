"""The LINEAR graph: raw ``x`` [batch, window, n_features] float32 and ``t`` [batch, horizon] float64 in, ``y`` and ``q`` out.

log1p of volume columns, the rows relative to the last one and standardisation inside the graph, time of day of the
first step from ``t``, one MatMul to the change of every step and target in the transformed space, the inverse
transform, conformal ``q`` from ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..shape import Shape
from . import conformal
from .graph_parts import GraphBuilder, checked_model, day_phase, g_inv_nodes, g_nodes, input_infos, relative_rows

TOD_HARMONICS = 2  # sin/cos of 1x and 2x the phase of the day


@dataclass(frozen=True)
class LinearModel:
    """A fitted ridge in the transformed space: ``d = [z(x) | tod(t0)] @ weights + bias``, ``y = g^-1(g(last) + d)``, where
    ``z`` standardises the relative rows of g(x) (``graph_parts.relative_rows``)."""

    log_mask: np.ndarray  # [n_features] bool: log1p columns
    mean: np.ndarray  # [window, n_features] of the relative rows of g(x) on the fit part
    std: np.ndarray  # [window, n_features]
    weights: np.ndarray  # [window * n_features (+ 2 * TOD_HARMONICS), horizon * n_targets] float64
    bias: np.ndarray  # [horizon * n_targets]
    time_of_day: bool  # whether the last 2 * TOD_HARMONICS rows of ``weights`` are time-of-day coefficients
    components: tuple[tuple[str, np.ndarray, np.ndarray], ...] = ()  # (graph output, weights, bias) as ``weights``

    def component(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        for output, weights, bias in self.components:
            if output == name:
                return weights, bias
        raise KeyError(f"LINEAR has no component {name!r} (has {[c[0] for c in self.components]})")


def _time_of_day(gr: GraphBuilder) -> str:
    """[batch, 2 * TOD_HARMONICS] float32: sin, cos of k * the day phase of t[:, 0], k = 1..TOD_HARMONICS."""
    t0 = gr.op("Gather", ["t", gr.const([0], np.int64)], axis=1)
    phase = day_phase(gr, t0)
    cols: list[str] = []
    for k in range(1, TOD_HARMONICS + 1):
        pk = gr.op("Mul", [phase, gr.const(float(k))])
        cols += [gr.op("Sin", [pk]), gr.op("Cos", [pk])]
    return gr.op("Concat", cols, axis=1)


def build_graph(model: LinearModel, shape: Shape, offsets: np.ndarray) -> onnx.ModelProto:
    """The self-contained graph; ``offsets`` [horizon, n_targets, n_quantiles] are conformal offsets in g-space."""
    gr = GraphBuilder("lin")
    w, h, k = shape.window, shape.horizon, shape.n_targets
    tmask = model.log_mask[shape.target_idx]
    rel = relative_rows(gr, g_nodes(gr, "x", model.log_mask), w)
    z = gr.op("Div", [gr.op("Sub", [rel, gr.const(model.mean)]), gr.const(model.std)])
    feats = gr.op("Reshape", [z, gr.const([-1, w * shape.n_features], np.int64)])
    if model.time_of_day:
        feats = gr.op("Concat", [feats, _time_of_day(gr)], axis=1)
    last_row = gr.op("Gather", ["x", gr.const(w - 1, np.int64)], axis=1)
    last = gr.op("Gather", [last_row, gr.const(shape.target_idx, np.int64)], axis=1)
    base = gr.op("Unsqueeze", [g_nodes(gr, last, tmask), gr.const([1], np.int64)])
    for output, weights, bias in (("y", model.weights, model.bias), *model.components):
        flat = gr.op("Add", [gr.op("MatMul", [feats, gr.const(weights)]), gr.const(bias)])
        delta = gr.op("Reshape", [flat, gr.const([-1, h, k], np.int64)])
        g_inv_nodes(gr, gr.op("Add", [base, delta]), tmask, output)
    q_nodes, q_inits = conformal.onnx_nodes("y", offsets, tmask)
    nq = offsets.shape[-1]
    graph = helper.make_graph(
        gr.nodes + q_nodes,
        "linear",
        input_infos(shape),
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", h, k]),
            helper.make_tensor_value_info("q", TensorProto.FLOAT, ["batch", h, k, nq]),
            *(helper.make_tensor_value_info(c[0], TensorProto.FLOAT, ["batch", h, k]) for c in model.components),
        ],
        gr.inits + q_inits,
    )
    return checked_model(graph)
