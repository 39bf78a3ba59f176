"""ONNX graph pieces shared by the exported LINEAR and GBDT graphs: a node builder, the inputs ``x``/``t``, the
in-graph g (log1p where masked) and g⁻¹ of conformal.py, the phase of the day of ``t`` and the model wrapper."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..shape import Shape
from .conformal import EXP_CAP

OPSET = 17
DAY = 86400.0


class GraphBuilder:
    """Nodes and named constants of one graph, tensor names unique and starting with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{self.prefix}_{base}_{self.count}"

    def const(self, value: Any, dtype: Any = np.float32) -> str:
        tensor_name = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), tensor_name))
        return tensor_name

    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        out = output or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


def g_nodes(b: GraphBuilder, v: str, mask: np.ndarray) -> str:
    """mask·log(relu(v) + 1) + (1 - mask)·v, the mask broadcast over the last axis (``v`` itself without a mask)."""
    if not mask.any():
        return v
    keep = mask.astype(np.float32)
    logged = b.op("Log", [b.op("Add", [b.op("Relu", [v]), b.const(1.0)])])
    return b.op("Add", [b.op("Mul", [logged, b.const(keep)]), b.op("Mul", [v, b.const(1.0 - keep)])])


def relative_rows(b: GraphBuilder, gx: str, window: int) -> str:
    """[batch, window, F]: each earlier row of ``gx`` as its difference to the last row, then the last row itself."""
    last = b.op("Slice", [gx, b.const([window - 1], np.int64), b.const([window], np.int64), b.const([1], np.int64)])
    prev = b.op("Slice", [gx, b.const([0], np.int64), b.const([window - 1], np.int64), b.const([1], np.int64)])
    return b.op("Concat", [b.op("Sub", [prev, last]), last], axis=1)


def relative_rows_np(gx: np.ndarray) -> np.ndarray:
    """``relative_rows`` of a [n, window, F] array."""
    out: np.ndarray = np.concatenate([gx[:, :-1] - gx[:, -1:], gx[:, -1:]], axis=1)
    return out


def g_inv_nodes(b: GraphBuilder, v: str, mask: np.ndarray, output: str) -> str:
    """``output`` = mask·expm1(min(v, EXP_CAP)) + (1 - mask)·v."""
    keep = mask.astype(np.float32)
    expm1 = b.op("Sub", [b.op("Exp", [b.op("Min", [v, b.const(EXP_CAP)])]), b.const(1.0)])
    return b.op("Add", [b.op("Mul", [expm1, b.const(keep)]), b.op("Mul", [v, b.const(1.0 - keep)])], output=output)


def day_phase(b: GraphBuilder, t: str) -> str:
    """float32 2π·(t mod DAY)/DAY of the float64 Unix seconds ``t``."""
    days = b.op("Floor", [b.op("Div", [t, b.const(DAY, np.float64)])])
    rem = b.op("Sub", [t, b.op("Mul", [days, b.const(DAY, np.float64)])])
    return b.op("Cast", [b.op("Mul", [rem, b.const(2.0 * np.pi / DAY, np.float64)])], to=TensorProto.FLOAT)


def input_infos(shape: Shape) -> list[onnx.ValueInfoProto]:
    """The model inputs: ``x`` float32 [batch, window, n_features], ``t`` float64 [batch, horizon]."""
    return [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", shape.window, shape.n_features]),
        helper.make_tensor_value_info("t", TensorProto.DOUBLE, ["batch", shape.horizon]),
    ]


def checked_model(graph: onnx.GraphProto, extra_opsets: tuple[tuple[str, int], ...] = ()) -> onnx.ModelProto:
    """``graph`` as an IR-8 model of opset OPSET (and ``extra_opsets``), checked."""
    opsets = [helper.make_opsetid("", OPSET), *(helper.make_opsetid(domain, v) for domain, v in extra_opsets)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="flts_train")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
