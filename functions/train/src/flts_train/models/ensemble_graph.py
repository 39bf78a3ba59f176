"""The ENSEMBLE graph: the members' graphs side by side on the same ``x``, ``t``; ``y = Σ w[h, j, m]·y_m``; ``q`` by
conformal offsets on ``y``. One self-contained model (``onnx.compose.merge_models`` chains graphs in series, so the
parallel merge is done here). A member is weighted by its ``y`` or by several of its outputs (components)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import FunctionProto, ModelProto, helper, numpy_helper

from . import conformal

ENSEMBLE_OPSET = 17  # the default-domain floor for the nodes added here (Unsqueeze/Where/Sum all exist at 13)
INPUTS = ("x", "t")


def member_prefix(k: int) -> str:
    return f"m{k}_"


def _opsets(members: Sequence[ModelProto]) -> list[onnx.OperatorSetIdProto]:
    versions: dict[str, int] = {"": ENSEMBLE_OPSET}
    for m in members:
        for o in m.opset_import:
            versions[o.domain] = max(versions.get(o.domain, 0), int(o.version))
    return [helper.make_opsetid(domain, version) for domain, version in sorted(versions.items())]


def _check_inputs(k: int, m: ModelProto, wanted: Sequence[str]) -> None:
    names = tuple(i.name for i in m.graph.input)
    if names != INPUTS:
        raise ValueError(f"member {k}: graph inputs are {list(names)}, expected {list(INPUTS)}")
    outputs = {o.name for o in m.graph.output}
    missing = [w for w in wanted if w not in outputs]
    if missing or not wanted:
        raise ValueError(f"member {k}: graph has no output {missing or 'to weight'} (outputs: {sorted(outputs)})")


def ensemble_model(
    members: Sequence[ModelProto], outputs: Sequence[Sequence[str]], weights: np.ndarray, offs: np.ndarray, log_mask: np.ndarray
) -> ModelProto:
    """Member k's graph ``outputs[k]`` are its weighting units, in order; ``weights`` [horizon, n_targets, n_units] and
    conformal ``offs`` [horizon, n_targets, nq] → outputs ``y``, ``q``."""
    n_units = sum(len(o) for o in outputs)
    if len(outputs) != len(members) or weights.ndim != 3 or weights.shape[2] != n_units:
        raise ValueError(f"weights {weights.shape} do not match {len(members)} members with {n_units} weighting units")
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    value_info: list[onnx.ValueInfoProto] = []
    functions: list[FunctionProto] = []
    terms: list[str] = []
    for k, (m, names) in enumerate(zip(members, outputs, strict=True)):
        _check_inputs(k, m, names)
        p = member_prefix(k)
        sub = onnx.compose.add_prefix(m, p, rename_inputs=False)  # local functions are prefixed too: no clash
        nodes.extend(sub.graph.node)
        inits.extend(sub.graph.initializer)
        value_info.extend(sub.graph.value_info)
        functions.extend(sub.functions)
        for name in names:
            u = len(terms)
            inits.append(numpy_helper.from_array(weights[:, :, u].astype(np.float32), f"ens_w{u}"))
            nodes.append(helper.make_node("Mul", [p + name, f"ens_w{u}"], [f"ens_term{u}"]))
            terms.append(f"ens_term{u}")
    nodes.append(helper.make_node("Sum", terms, ["y"]))
    q_nodes, q_inits = conformal.onnx_nodes("y", offs, log_mask, q_name="q", prefix="ens_cq_")
    nodes.extend(q_nodes)
    inits.extend(q_inits)
    first = members[0].graph
    horizon, n_targets, nq = offs.shape
    graph_outputs = [
        helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", horizon, n_targets]),
        helper.make_tensor_value_info("q", onnx.TensorProto.FLOAT, ["batch", horizon, n_targets, nq]),
    ]
    graph = helper.make_graph(nodes, "flts_ensemble", list(first.input), graph_outputs, initializer=inits, value_info=value_info)
    model = helper.make_model(graph, opset_imports=_opsets(members), producer_name="flts_train", functions=functions)
    model.ir_version = max(int(m.ir_version) for m in members)
    onnx.checker.check_model(model)
    return model
