"""Issue 16 research, ONNX feasibility: LINEAR (ridge) and GBDT (LightGBM via onnxmltools) graphs with inputs
``x`` [batch, window, n_features] float32 and ``t`` [batch, horizon] float64, outputs ``y`` [batch, horizon, n_targets]
and ``q`` [batch, horizon, n_targets, n_quantiles]; an ENSEMBLE graph over the members' graphs. Used by horizon_study.py
(--onnx DIR); checks parity with the Python predictions and times single-window onnxruntime calls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

if TYPE_CHECKING:
    from horizon_study import Member, Transform

    from flts_train.data import Windows
    from flts_train.shape import Shape

OPSET = 17
ML_OPSET = 3
DAY = 86400.0
DEBUG: dict[str, str] = {}  # tensor names of the first anchor's features and first tree ensemble (parity in feature space)


class G:
    """A tiny graph builder: named constants and nodes, unique tensor names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, value: np.ndarray | float | list[int], dtype: Any = np.float32, base: str = "c") -> str:
        arr = np.asarray(value, dtype=dtype)
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(arr, nm))
        return nm

    def op(self, op_type: str, inputs: list[str], base: str | None = None, domain: str = "", **attrs: Any) -> str:
        out = self.name(base or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], domain=domain, **attrs))
        return out


def _io(shape: Shape, q: bool) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    ins = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", shape.window, shape.n_features]),
        helper.make_tensor_value_info("t", TensorProto.DOUBLE, ["batch", shape.horizon]),
    ]
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", shape.horizon, shape.n_targets])]
    if q:
        outs.append(helper.make_tensor_value_info("q", TensorProto.FLOAT, ["batch", shape.horizon, shape.n_targets, 3]))
    return ins, outs


def _g(g: G, v: str, mask: np.ndarray) -> str:
    """mask·log(relu(v)+1) + (1-mask)·v, mask broadcast over the last axis."""
    logged = g.op("Log", [g.op("Add", [g.op("Relu", [v]), g.const(1.0)])])
    return g.op("Add", [g.op("Mul", [logged, g.const(mask)]), g.op("Mul", [v, g.const(1.0 - mask)])])


def _inv(g: G, v: str, mask: np.ndarray) -> str:
    e = g.op("Sub", [g.op("Exp", [g.op("Min", [v, g.const(80.0)])]), g.const(1.0)])
    return g.op("Add", [g.op("Mul", [e, g.const(mask)]), g.op("Mul", [v, g.const(1.0 - mask)])])


def _z(g: G, tr: Transform) -> str:
    """Standardised transformed window [B, W, F]."""
    return g.op("Div", [g.op("Sub", [_g(g, "x", tr.log_mask.astype(np.float32)), g.const(tr.mean)]), g.const(tr.std)])


def _base(g: G, tr: Transform, shape: Shape) -> str:
    """Transformed last target values [B, 1, T]."""
    last = g.op("Gather", [g.op("Gather", ["x", g.const(shape.window - 1, np.int64)], axis=1), g.const(tr.target_idx, np.int64)], axis=1)
    return g.op("Unsqueeze", [_g(g, last, tr.tmask.astype(np.float32)), g.const([1], np.int64)])


def _tod(g: G, step: int, harmonics: int) -> str:
    """sin/cos of k·phase of t[:, step] for k = 1..harmonics: [B, 2·harmonics] float32."""
    ts = g.op("Gather", ["t", g.const([step], np.int64)], axis=1)  # [B, 1] double
    rem = g.op("Sub", [ts, g.op("Mul", [g.op("Floor", [g.op("Div", [ts, g.const(DAY, np.float64)])]), g.const(DAY, np.float64)])])
    phase = g.op("Cast", [g.op("Mul", [rem, g.const(2 * np.pi / DAY, np.float64)])], to=TensorProto.FLOAT)
    cols = []
    for k in range(1, harmonics + 1):
        pk = g.op("Mul", [phase, g.const(float(k))])
        cols += [g.op("Sin", [pk]), g.op("Cos", [pk])]
    return g.op("Concat", cols, axis=1)


def _heads(g: G, tr: Transform, shape: Shape, d: str, offsets: np.ndarray | None) -> None:
    """y (and q) from the predicted change d [B, H, T] in the transformed space."""
    yg = g.op("Add", [_base(g, tr, shape), d])
    tm = tr.tmask.astype(np.float32)
    g.nodes.append(helper.make_node("Identity", [_inv(g, yg, tm)], ["y"]))
    if offsets is not None:  # [Q, H, T] -> [H, T, Q] added in the transformed space
        qg = g.op("Add", [g.op("Unsqueeze", [yg, g.const([3], np.int64)]), g.const(np.transpose(offsets, (1, 2, 0)))])
        g.nodes.append(helper.make_node("Identity", [_inv(g, qg, tm[:, None])], ["q"]))


def _model(g: G, shape: Shape, name: str, q: bool, ml: bool = False) -> onnx.ModelProto:
    ins, outs = _io(shape, q)
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("ai.onnx.ml", ML_OPSET)] if ml else [])
    m = helper.make_model(helper.make_graph(g.nodes, name, ins, outs, g.inits), opset_imports=opsets)
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def ridge_graph(tr: Transform, shape: Shape, member: Member, offsets: np.ndarray | None) -> onnx.ModelProto:
    """LINEAR: [B, W·F] (+ time of day of the first step) @ W + b -> change per step and target."""
    g = G()
    H, T, WF = shape.horizon, shape.n_targets, shape.window * shape.n_features
    feats = g.op("Reshape", [_z(g, tr), g.const([-1, WF], np.int64)])
    harmonics = int(member.info["harmonics"])
    if harmonics:
        feats = g.op("Concat", [feats, _tod(g, 0, harmonics)], axis=1)
    flat = g.op("Add", [g.op("MatMul", [feats, g.const(member.info["W"])]), g.const(member.info["b"])])
    _heads(g, tr, shape, g.op("Reshape", [flat, g.const([-1, H, T], np.int64)]), offsets)
    return _model(g, shape, "linear", offsets is not None)


def _lgbm_onnx(mdl: Any, n_feat: int) -> onnx.ModelProto:
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    return convert_lightgbm(
        mdl, initial_types=[("input", FloatTensorType([None, n_feat]))], target_opset=15
    )  # the converter supports main opset <= 15


def _embed(g: G, sub: onnx.ModelProto, prefix: str, feed: str) -> str:
    """Copies a converted model's nodes and initialisers into ``g`` (names prefixed), its input fed by ``feed``."""
    sub = onnx.compose.add_prefix(sub, prefix)
    inp, out = sub.graph.input[0].name, sub.graph.output[0].name
    for node in sub.graph.node:
        node.input[:] = [feed if i == inp else i for i in node.input]
        g.nodes.append(node)
    g.inits.extend(sub.graph.initializer)
    return out


def lgbm_graph(tr: Transform, shape: Shape, member: Member, offsets: np.ndarray | None) -> onnx.ModelProto:
    """GBDT: per anchor step, lag features + time of day of that step into each (averaged) tree ensemble; the other
    steps by the interpolation matrix [H, A]."""
    g = G()
    W, F, T = shape.window, shape.n_features, shape.n_targets
    z = _z(g, tr)
    if member.info["relative"]:
        last = g.op("Slice", [z, g.const([W - 1], np.int64), g.const([W], np.int64), g.const([1], np.int64)])
        prev = g.op("Slice", [z, g.const([0], np.int64), g.const([W - 1], np.int64), g.const([1], np.int64)])
        z = g.op("Concat", [g.op("Sub", [prev, last]), last], axis=1)
    lags = g.op("Reshape", [z, g.const([-1, W * F], np.int64)])
    per_anchor = []
    for a_i, h in enumerate(member.info["anchors"]):
        feats = g.op("Concat", [lags, _tod(g, h - 1, 1)], axis=1)
        cols = []
        for j in range(T):
            fitted = member.info["models"][(h, j)]
            outs = [_embed(g, _lgbm_onnx(mdl, W * F + 2), f"a{a_i}t{j}s{s}_", feats) for s, (mdl, _) in enumerate(fitted)]
            mean = outs[0] if len(outs) == 1 else g.op("Div", [g.op("Sum", outs), g.const(float(len(outs)))])
            cols.append(mean)  # [B, 1]
            if a_i == 0 and j == 0:
                DEBUG["feats"], DEBUG["tree"] = feats, outs[0]
        per_anchor.append(g.op("Unsqueeze", [g.op("Concat", cols, axis=1), g.const([1], np.int64)]))  # [B, 1, T]
    stacked = g.op("Concat", per_anchor, axis=1)  # [B, A, T]
    d = g.op("MatMul", [g.const(member.info["interp"]), stacked])  # [H, A] @ [B, A, T] -> [B, H, T]
    _heads(g, tr, shape, d, offsets)
    return _model(g, shape, "gbdt", offsets is not None, ml=True)


def stack_graph(tr: Transform, shape: Shape, member: Member, offsets: np.ndarray | None) -> onnx.ModelProto:
    """GBDT over stacked steps: one tree ensemble per target on [B·H, W·F + 3] rows (lags, time of day of the step, step)."""
    g = G()
    W, F, H, T = shape.window, shape.n_features, shape.horizon, shape.n_targets
    z = _z(g, tr)
    if member.info["relative"]:
        last = g.op("Slice", [z, g.const([W - 1], np.int64), g.const([W], np.int64), g.const([1], np.int64)])
        prev = g.op("Slice", [z, g.const([0], np.int64), g.const([W - 1], np.int64), g.const([1], np.int64)])
        z = g.op("Concat", [g.op("Sub", [prev, last]), last], axis=1)
    lags = g.op("Expand", [g.op("Reshape", [z, g.const([-1, 1, W * F], np.int64)]), g.const([1, H, 1], np.int64)])  # [B, H, WF]
    rem = g.op("Sub", ["t", g.op("Mul", [g.op("Floor", [g.op("Div", ["t", g.const(DAY, np.float64)])]), g.const(DAY, np.float64)])])
    phase = g.op(
        "Unsqueeze",
        [g.op("Cast", [g.op("Mul", [rem, g.const(2 * np.pi / DAY, np.float64)])], to=TensorProto.FLOAT), g.const([2], np.int64)],
    )  # [B, H, 1]
    sin, cos = g.op("Sin", [phase]), g.op("Cos", [phase])
    step = g.op("Add", [g.op("Mul", [sin, g.const(0.0)]), g.const(np.arange(1, H + 1, dtype=np.float32).reshape(1, H, 1))])
    rows = g.op("Reshape", [g.op("Concat", [lags, sin, cos, step], axis=2), g.const([-1, W * F + 3], np.int64)])
    cols = [_embed(g, _lgbm_onnx(member.info["models"][j][0], W * F + 3), f"t{j}_", rows) for j in range(T)]  # [B·H, 1] each
    d = g.op("Reshape", [g.op("Concat", cols, axis=1), g.const([-1, H, T], np.int64)])
    _heads(g, tr, shape, d, offsets)
    return _model(g, shape, "gbdt_stacked", offsets is not None, ml=True)


def ensemble_graph(
    tr: Transform, shape: Shape, members: list[onnx.ModelProto], weights: np.ndarray, offsets: np.ndarray
) -> onnx.ModelProto:
    """ENSEMBLE: the members' graphs side by side on the same x, t; y = Σ w[h, t, k]·y_k; q by conformal offsets."""
    g = G()
    ys = []
    ml = False
    for k, m in enumerate(members):
        sub = onnx.compose.add_prefix(m, f"m{k}_", rename_inputs=False)
        ml = ml or any(o.domain == "ai.onnx.ml" for o in sub.opset_import)
        g.nodes.extend(sub.graph.node)
        g.inits.extend(sub.graph.initializer)
        ys.append(g.op("Mul", [f"m{k}_y", g.const(weights[:, :, k])]))
    y = g.op("Sum", ys)
    tm = tr.tmask.astype(np.float32)
    g.nodes.append(helper.make_node("Identity", [y], ["y"]))
    qg = g.op("Add", [g.op("Unsqueeze", [_g(g, y, tm), g.const([3], np.int64)]), g.const(np.transpose(offsets, (1, 2, 0)))])
    g.nodes.append(helper.make_node("Identity", [_inv(g, qg, tm[:, None])], ["q"]))
    return _model(g, shape, "ensemble", True, ml=ml)


def session(m: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(m.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])


def latency_ms(sess: ort.InferenceSession, w: Windows, runs: int = 500) -> dict[str, float]:
    feed = {"x": w.x[:1].astype(np.float32), "t": w.t[:1].astype(np.float64)}
    for _ in range(20):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - started) * 1e3)
    return {"p50": round(float(np.percentile(times, 50)), 4), "p99": round(float(np.percentile(times, 99)), 4)}


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def frac_over(a: np.ndarray, b: np.ndarray, tol: float = 1e-3) -> float:
    return float(np.mean(np.abs(a - b) / np.maximum(np.abs(b), 1.0) > tol))


def check(name: str, m: onnx.ModelProto, ref_y: np.ndarray, ref_q: np.ndarray | None, w: Windows, folder: Path) -> dict[str, Any]:
    path = folder / f"{name}.onnx"
    path.write_bytes(m.SerializeToString())
    sess = session(m)
    outs = sess.run(None, {"x": w.x.astype(np.float32), "t": w.t.astype(np.float64)})
    rep: dict[str, Any] = {
        "bytes": path.stat().st_size,
        "outputs": {o.name: list(o.shape) for o in sess.get_outputs()},
        "out_shapes": [list(np.asarray(o).shape) for o in outs],
        "ops": sorted({n.op_type for n in m.graph.node}),
        "y_max_rel_err": rel_err(np.asarray(outs[0]), ref_y),
        "y_frac_rel_err_over_1e-3": frac_over(np.asarray(outs[0]), ref_y),
        "y_p999_rel_err": float(np.quantile(np.abs(np.asarray(outs[0]) - ref_y) / np.maximum(np.abs(ref_y), 1.0), 0.999)),
        "latency_ms_1_window": latency_ms(sess, w),
    }
    if ref_q is not None and len(outs) > 1:
        rep["q_max_rel_err"] = rel_err(np.asarray(outs[1]), ref_q)
    return rep


def check_onnx(
    tr: Transform, shape: Shape, members: list[Member], test: Windows, folder: Path, ensemble: tuple[list[str], np.ndarray] | None = None
) -> dict[str, Any]:
    """Exports ridge and LightGBM (and their ensemble) and compares onnxruntime with the Python predictions."""
    from horizon_study import conformal, intervals

    folder.mkdir(parents=True, exist_ok=True)
    by = {m.name: m for m in members}
    report: dict[str, Any] = {}
    graphs: dict[str, onnx.ModelProto] = {}
    val_w = members[0].info["val_windows"]
    for name, build in (
        ("ridge_anchor", ridge_graph),
        ("ridge_low", ridge_graph),
        ("ridge_tod", ridge_graph),
        ("lgbm", lgbm_graph),
        ("lgbm_stack", stack_graph),
    ):
        if name not in by:
            continue
        m = by[name]
        started = time.monotonic()
        pred_val = tr.raw(val_w, m.val_d)
        off = conformal(pred_val, val_w, tr.tmask)
        graph = build(tr, shape, m, off)
        export_s = time.monotonic() - started
        ref_y = tr.raw(test, m.test_d)
        rep = check(name, graph, ref_y, intervals(ref_y, off, tr.tmask), test, folder)
        rep["export_seconds"] = round(export_s, 2)
        report[name] = rep
        graphs[name] = graph
    if "lgbm" in by:  # onnxmltools alone on one booster: the parity the GBDT test would assert
        m = by["lgbm"]
        mdl, best = m.info["models"][(1, 0)][0]
        X = m.info["feats_test_h1"]
        conv = _lgbm_onnx(mdl, X.shape[1])
        out = session(conv).run(None, {"input": X})[0]
        diff = np.abs(np.asarray(out).ravel() - mdl.predict(X, num_iteration=best))
        report["lgbm_single_booster"] = {
            "max_abs_diff": float(diff.max()),
            "rows_over_1e-5": int((diff > 1e-5).sum()),
            "rows": int(diff.size),
            "trees": int(best),
            "bytes": len(conv.SerializeToString()),
        }
        # the same booster on the features the ONNX graph itself computed (float32 log/standardise inside the graph)
        full = onnx.ModelProto()
        full.CopyFrom(graphs["lgbm"])
        for nm in (DEBUG["feats"], DEBUG["tree"]):
            full.graph.output.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT, None))
        f_onnx, tree_onnx = session(full).run([DEBUG["feats"], DEBUG["tree"]], {"x": test.x.astype(np.float32), "t": test.t})
        diff2 = np.abs(np.asarray(tree_onnx).ravel() - mdl.predict(np.asarray(f_onnx), num_iteration=best))
        report["lgbm_in_graph_features"] = {
            "feature_max_abs_diff_vs_python": float(np.max(np.abs(np.asarray(f_onnx) - X))),
            "tree_max_abs_diff": float(diff2.max()),
            "rows_over_1e-5": int((diff2 > 1e-5).sum()),
        }
    if ensemble is not None and all(k in graphs for k in ensemble[0]):
        pool, W = ensemble
        ys = [tr.raw(test, by[k].test_d) for k in pool]
        ref = sum(W[None, :, :, i] * ys[i] for i in range(len(pool)))
        assert isinstance(ref, np.ndarray)
        vr = sum(W[None, :, :, i] * tr.raw(val_w, by[k].val_d) for i, k in enumerate(pool))
        assert isinstance(vr, np.ndarray)
        off = conformal(vr, val_w, tr.tmask)
        graph = ensemble_graph(tr, shape, [graphs[k] for k in pool], W, off)
        report["ensemble"] = check("ensemble", graph, ref, intervals(ref, off, tr.tmask), test, folder)
    return report
