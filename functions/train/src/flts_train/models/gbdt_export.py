"""The fitted GBDT (LightGBM boosters and what maps their output to ``y``) and its one ONNX graph.

The change in g space at step 1 is ``blend·direct + (1 - blend)·stacked``, at later steps the stacked model's (the
components swap step 1 for the direct boosters', the stacked model's or the forest's alone);
``y = g⁻¹(g(last) + change)``; ``q`` from conformal offsets on ``y``. ``predict`` computes the same in numpy from
LightGBM's own predictions on the feature subgraph's output (the parity reference of the graph).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import onnx
from onnx import TensorProto, helper

from ..shape import Shape
from . import conformal
from .gbdt_features import LAGS, ML_OPSET, TOD, Features, add_feature_nodes, direct_rows, stacked_rows
from .graph_parts import GraphBuilder, checked_model, g_inv_nodes, input_infos

if TYPE_CHECKING:
    from sklearn.ensemble import ExtraTreesRegressor

CONVERTER_OPSET = 15  # the highest main opset onnxmltools' LightGBM converter writes
COMPONENTS = ("y_direct", "y_stack")  # extra graph outputs (with a stacked model): which model gives step 1
FOREST_COMPONENT = "y_forest"  # with a forest as well


@dataclass(frozen=True)
class GbdtModel:
    shape: Shape
    feature_log: np.ndarray  # [F] bool: g is log1p for this column
    target_log: np.ndarray  # [T] bool
    direct: list[list[lgb.LGBMRegressor]]  # per target, one booster per seed (averaged): step 1
    stacked: list[lgb.LGBMRegressor] | None  # per target, every step (step number as a feature); None when horizon is 1
    blend: np.ndarray  # [T] weight of the direct model at step 1
    offsets: np.ndarray  # [H, T, nq] conformal offsets in g space
    forest: list[ExtraTreesRegressor] | None = None  # per target, step 1 (only with a stacked model); not in ``y``

    def step_weights(self, component: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """[H, T] weights of the stacked, the direct and the forest's change at each step, for ``y`` or a component."""
        h, k = self.shape.horizon, self.shape.n_targets
        one, zero = np.ones(k), np.zeros(k)
        first: dict[str | None, tuple[np.ndarray, np.ndarray, np.ndarray]] = {
            None: (1.0 - self.blend, self.blend, zero),
            "y_direct": (zero, one, zero),
            "y_stack": (one, zero, zero),
            FOREST_COMPONENT: (zero, zero, one),
        }
        w_stacked, w_direct, w_forest = np.ones((h, k)), np.zeros((h, k)), np.zeros((h, k))
        w_stacked[0], w_direct[0], w_forest[0] = first[component]
        return w_stacked, w_direct, w_forest

    def components(self) -> tuple[str, ...]:
        if self.stacked is None:
            return ()
        return (*COMPONENTS, FOREST_COMPONENT) if self.forest else COMPONENTS


def direct_change(models: list[lgb.LGBMRegressor], rows: np.ndarray) -> np.ndarray:
    mean: np.ndarray = np.mean([np.asarray(m.predict(rows)) for m in models], axis=0)
    return mean


def stacked_change(model: lgb.LGBMRegressor, lags: np.ndarray, tod: np.ndarray) -> np.ndarray:
    """[n, H] change of every step of each window."""
    steps = tuple(range(1, tod.shape[1] + 1))
    return np.asarray(model.predict(stacked_rows(lags, tod, steps))).reshape(lags.shape[0], len(steps))


def native_predict(model: GbdtModel, features: Features, x: np.ndarray, t: np.ndarray, component: str | None = None) -> np.ndarray:
    """``y`` (or a component) [n, H, T] from LightGBM's predictions on the graph's own features."""
    lags, tod = features(x, t)
    rows = direct_rows(lags, tod)
    direct = np.stack([direct_change(ms, rows) for ms in model.direct], axis=-1)  # [n, T]
    change = np.repeat(direct[:, None, :], model.shape.horizon, axis=1)
    if model.stacked is not None:
        stacked = np.stack([stacked_change(m, lags, tod) for m in model.stacked], axis=-1)  # [n, H, T]
        w_stacked, w_direct, w_forest = model.step_weights(component)
        change = stacked * w_stacked + direct[:, None, :] * w_direct
        if model.forest:
            forest = np.stack([np.asarray(m.predict(rows)) for m in model.forest], axis=-1)  # [n, T]
            change = change + forest[:, None, :] * w_forest
    return conformal.g_inv(features.base(lags)[:, None, :] + change, model.target_log)


def converted_forest(model: ExtraTreesRegressor, n_columns: int) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    converted: onnx.ModelProto = convert_sklearn(
        model, initial_types=[("input", FloatTensorType([None, n_columns]))], target_opset={"": CONVERTER_OPSET, "ai.onnx.ml": ML_OPSET}
    )
    attrs = _tree_attributes(converted)
    trees, nodes, modes = attrs["nodes_treeids"].ints, attrs["nodes_nodeids"].ints, attrs["nodes_modes"].strings
    values = [  # scikit-learn's double thresholds as the float32 just below (as exact_thresholds does for LightGBM's)
        v if mode == b"LEAF" else _float32_below(float(model.estimators_[t].tree_.threshold[i]))
        for t, i, mode, v in zip(trees, nodes, modes, attrs["nodes_values"].floats, strict=True)
    ]
    _set_thresholds(attrs, values)
    return converted


def converted_booster(model: lgb.LGBMRegressor, n_columns: int) -> onnx.ModelProto:
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    converted: onnx.ModelProto = convert_lightgbm(
        model, initial_types=[("input", FloatTensorType([None, n_columns]))], target_opset=CONVERTER_OPSET
    )
    exact_thresholds(converted, model.booster_.dump_model()["tree_info"])
    return converted


def _float32_below(threshold: float) -> float:
    """The largest float32 <= ``threshold``: for a float32 x, x <= threshold exactly when x <= this."""
    v = np.float32(threshold)
    return float(np.nextafter(v, np.float32(-np.inf)) if float(v) > threshold else v)


def exact_thresholds(converted: onnx.ModelProto, trees: list[dict[str, Any]]) -> None:
    """Rewrites the converter's thresholds (rounded to the nearest float32, so a float32 feature just above LightGBM's
    double threshold could take the other branch) as the float32 just below, walking LightGBM's dump beside the graph."""
    attrs = _tree_attributes(converted)
    index = {(t, n): i for i, (t, n) in enumerate(zip(attrs["nodes_treeids"].ints, attrs["nodes_nodeids"].ints, strict=True))}
    values = list(attrs["nodes_values"].floats)
    modes, features = attrs["nodes_modes"].strings, attrs["nodes_featureids"].ints
    true_ids, false_ids = attrs["nodes_truenodeids"].ints, attrs["nodes_falsenodeids"].ints
    for k, tree in enumerate(trees):
        stack: list[tuple[dict[str, Any], int]] = [(tree["tree_structure"], 0)]
        while stack:
            split, node_id = stack.pop()
            i = index[(k, node_id)]
            if "split_feature" not in split:
                if modes[i] != b"LEAF":
                    raise RuntimeError(f"converted tree {k} node {node_id} is not the leaf LightGBM has")
                continue
            if modes[i] != b"BRANCH_LEQ" or split["decision_type"] != "<=" or features[i] != split["split_feature"]:
                raise RuntimeError(f"converted tree {k} node {node_id} does not match LightGBM's split")
            values[i] = _float32_below(float(split["threshold"]))
            stack += [(split["left_child"], true_ids[i]), (split["right_child"], false_ids[i])]
    _set_thresholds(attrs, values)


def _tree_attributes(converted: onnx.ModelProto) -> dict[str, onnx.AttributeProto]:
    """The attributes of a converted model's TreeEnsembleRegressor node, by name (edited in place)."""
    node = next(n for n in converted.graph.node if n.op_type == "TreeEnsembleRegressor")
    return {a.name: a for a in node.attribute}


def _set_thresholds(attrs: dict[str, onnx.AttributeProto], values: list[float]) -> None:
    del attrs["nodes_values"].floats[:]
    attrs["nodes_values"].floats.extend(values)


def _embed(b: GraphBuilder, converted: onnx.ModelProto, prefix: str, feed: str) -> str:
    """A converted tree model's nodes in ``b`` (names prefixed), reading ``feed``; returns its output [rows, 1]."""
    sub = onnx.compose.add_prefix(converted, prefix)
    inp, out = str(sub.graph.input[0].name), str(sub.graph.output[0].name)
    for node in sub.graph.node:
        node.input[:] = [feed if i == inp else i for i in node.input]
        b.nodes.append(node)
    b.inits.extend(sub.graph.initializer)
    return out


def _direct_rows(b: GraphBuilder) -> str:
    """[B, W·F + 2] rows of the step-1 models (``direct_rows``)."""
    first_tod = b.op(
        "Squeeze", [b.op("Slice", [TOD, b.const([0], np.int64), b.const([1], np.int64), b.const([1], np.int64)]), b.const([1], np.int64)]
    )
    return b.op("Concat", [LAGS, first_tod], axis=1)


def _direct_nodes(b: GraphBuilder, model: GbdtModel, rows: str) -> str:
    """[B, T] change at step 1 from the direct boosters."""
    wf = model.shape.window * model.shape.n_features
    cols = []
    for j, seeds in enumerate(model.direct):
        outs = [_embed(b, converted_booster(m, wf + 2), f"gbdt_d{j}s{s}_", rows) for s, m in enumerate(seeds)]
        cols.append(outs[0] if len(outs) == 1 else b.op("Div", [b.op("Sum", outs), b.const(float(len(outs)))]))
    return b.op("Concat", cols, axis=1)


def _forest_nodes(b: GraphBuilder, forest: list[ExtraTreesRegressor], n_columns: int, rows: str) -> str:
    """[B, 1, T] change at step 1 from the forests."""
    cols = [_embed(b, converted_forest(m, n_columns), f"gbdt_f{j}_", rows) for j, m in enumerate(forest)]
    return b.op("Unsqueeze", [b.op("Concat", cols, axis=1), b.const([1], np.int64)])


def _stacked_nodes(b: GraphBuilder, model: GbdtModel, stacked: list[lgb.LGBMRegressor]) -> str:
    """[B, H, T] change at every step from the stacked boosters (rows window-major, as ``stacked_rows``)."""
    h, k, wf = model.shape.horizon, model.shape.n_targets, model.shape.window * model.shape.n_features
    lags = b.op("Expand", [b.op("Reshape", [LAGS, b.const([-1, 1, wf], np.int64)]), b.const([1, h, 1], np.int64)])
    batch = b.op("Shape", ["x"], start=0, end=1)
    step_shape = b.op("Concat", [batch, b.const([h, 1], np.int64)], axis=0)
    steps = b.op("Expand", [b.const(np.arange(1, h + 1, dtype=np.float32).reshape(1, h, 1)), step_shape])
    rows = b.op("Reshape", [b.op("Concat", [lags, TOD, steps], axis=2), b.const([-1, wf + 3], np.int64)])
    cols = [_embed(b, converted_booster(m, wf + 3), f"gbdt_s{j}_", rows) for j, m in enumerate(stacked)]
    return b.op("Reshape", [b.op("Concat", cols, axis=1), b.const([-1, h, k], np.int64)])


def _y_nodes(b: GraphBuilder, base: str, change: str, target_log: np.ndarray, output: str) -> None:
    """``output`` = g⁻¹(base + change)."""
    g_inv_nodes(b, b.op("Add", [base, change]), target_log, output)


def build_graph(model: GbdtModel) -> onnx.ModelProto:
    shape = model.shape
    b = GraphBuilder("gbdt")
    add_feature_nodes(b, shape, model.feature_log)
    offset = (shape.window - 1) * shape.n_features
    base = b.op("Gather", [LAGS, b.const([offset + j for j in shape.target_idx], np.int64)], axis=1)  # [B, T]
    base = b.op("Unsqueeze", [base, b.const([1], np.int64)])
    rows = _direct_rows(b)
    direct = b.op("Unsqueeze", [_direct_nodes(b, model, rows), b.const([1], np.int64)])  # [B, 1, T]
    if model.stacked is None:
        _y_nodes(b, base, b.op("Expand", [direct, b.const([1, shape.horizon, 1], np.int64)]), model.target_log, "y")
    else:
        stacked = _stacked_nodes(b, model, model.stacked)
        forest = _forest_nodes(b, model.forest, shape.window * shape.n_features + 2, rows) if model.forest else None
        for output, component in (("y", None), *((c, c) for c in model.components())):
            w_stacked, w_direct, w_forest = model.step_weights(component)
            change = b.op("Add", [b.op("Mul", [stacked, b.const(w_stacked)]), b.op("Mul", [direct, b.const(w_direct)])])
            if forest is not None and w_forest.any():
                change = b.op("Add", [change, b.op("Mul", [forest, b.const(w_forest)])])
            _y_nodes(b, base, change, model.target_log, output)
    q_nodes, q_inits = conformal.onnx_nodes("y", model.offsets, model.target_log)
    b.nodes.extend(q_nodes)
    b.inits.extend(q_inits)
    nq = model.offsets.shape[-1]
    outs = [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", shape.horizon, shape.n_targets]),
        helper.make_tensor_value_info("q", TensorProto.FLOAT, ["batch", shape.horizon, shape.n_targets, nq]),
        *(helper.make_tensor_value_info(c, TensorProto.FLOAT, ["batch", shape.horizon, shape.n_targets]) for c in model.components()),
    ]
    return checked_model(helper.make_graph(b.nodes, "gbdt", input_infos(shape), outs, b.inits), (("ai.onnx.ml", ML_OPSET),))


def graph_ops(model: onnx.ModelProto) -> list[str]:
    return sorted({n.op_type for n in model.graph.node})


def describe(model: GbdtModel) -> dict[str, Any]:
    """Card fields of the fitted boosters."""
    trees = {f"direct_{t}": [int(m.n_estimators) for m in ms] for t, ms in zip(model.shape.targets, model.direct, strict=True)}
    if model.stacked is not None:
        trees.update({f"stacked_{t}": [int(m.n_estimators)] for t, m in zip(model.shape.targets, model.stacked, strict=True)})
    if model.forest:
        trees.update({f"forest_{t}": [len(m.estimators_)] for t, m in zip(model.shape.targets, model.forest, strict=True)})
    return {
        "trees": trees,
        "step1_direct_weight": {t: float(w) for t, w in zip(model.shape.targets, model.blend, strict=True)},
        "log1p_features": [f for f, m in zip(model.shape.features, model.feature_log.tolist(), strict=True) if m],
    }
