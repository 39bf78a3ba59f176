"""Prophet: one fit per target, exported as a small ONNX graph of ``t`` (trend + Fourier seasonalities).

The graph reproduces ``Prophet.predict(...)["yhat"]`` for linear or flat trend and additive or
multiplicative seasonalities without extra regressors or holidays (what the trainer fits). All arithmetic
is float64; the output is cast to float32. With offsets, ``q = y + offset`` per step, target and level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper

from ..shape import Shape

OPSET = 17
DAY = 86400.0


@dataclass
class ProphetHyper:
    changepoint_prior_scale: float = 0.05
    seasonality_prior_scale: float = 10.0
    seasonality_mode: Literal["additive", "multiplicative"] = "additive"
    daily_seasonality: Any = "auto"
    weekly_seasonality: Any = "auto"
    yearly_seasonality: Any = "auto"
    n_changepoints: int = 25
    uncertainty_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _quiet() -> None:
    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)


def to_ds(times: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(np.round(times * 1e6).astype("int64"), unit="us"))


def fit_prophet(times: np.ndarray, values: np.ndarray, hp: ProphetHyper, seed: int) -> Any:
    _quiet()
    from prophet import Prophet

    m = Prophet(
        changepoint_prior_scale=hp.changepoint_prior_scale,
        seasonality_prior_scale=hp.seasonality_prior_scale,
        seasonality_mode=hp.seasonality_mode,
        daily_seasonality=hp.daily_seasonality,
        weekly_seasonality=hp.weekly_seasonality,
        yearly_seasonality=hp.yearly_seasonality,
        n_changepoints=hp.n_changepoints,
        uncertainty_samples=hp.uncertainty_samples,
    )
    df = pd.DataFrame({"ds": to_ds(times), "y": values.astype(np.float64)})
    np.random.seed(seed % (2**32))
    m.fit(df, seed=seed)
    return m


def prophet_predict(m: Any, times: np.ndarray) -> np.ndarray:
    """``yhat`` at Unix-second times of any shape (float64), in the order given.

    ``Prophet.predict`` sorts its input by ``ds``, so it is called on the unique sorted times and the
    answers are mapped back (overlapping windows repeat times)."""
    uniq, inverse = np.unique(times.reshape(-1), return_inverse=True)
    future = pd.DataFrame({"ds": to_ds(uniq)})
    yhat: np.ndarray = m.predict(future)["yhat"].to_numpy(dtype=np.float64)
    return yhat[inverse].reshape(times.shape)


@dataclass
class _Extract:
    start: float  # unix seconds
    t_scale: float  # seconds
    y_scale: float
    floor: float
    k: float
    m: float
    cps: np.ndarray  # scaled changepoints
    deltas: np.ndarray
    growth: str
    freqs: np.ndarray  # radians per day, per Fourier pair
    beta_sin: np.ndarray
    beta_cos: np.ndarray
    mult_sin: np.ndarray
    mult_cos: np.ndarray


def _extract(m: Any) -> _Extract:
    if m.growth not in ("linear", "flat"):
        raise ValueError(f"Prophet growth {m.growth!r} is not exportable (linear or flat only)")
    if m.extra_regressors or m.holidays is not None or m.country_holidays is not None:
        raise ValueError("Prophet models with regressors or holidays are not exportable")
    if getattr(m, "logistic_floor", False):
        raise ValueError("Prophet logistic floor is not exportable")
    beta = np.asarray(m.params["beta"], dtype=np.float64).mean(axis=0)
    freqs: list[float] = []
    bs: list[float] = []
    bc: list[float] = []
    ms: list[float] = []
    mc: list[float] = []
    col = 0
    for props in m.seasonalities.values():
        if props.get("condition_name") is not None:
            raise ValueError("conditional seasonalities are not exportable")
        period = float(props["period"])
        mode = props["mode"]
        for i in range(int(props["fourier_order"])):
            w = 2.0 * (i + 1) * np.pi / period
            b_s = beta[col]
            b_c = beta[col + 1]
            col += 2
            freqs.append(w)
            if mode == "additive":
                bs.append(b_s)
                bc.append(b_c)
                ms.append(0.0)
                mc.append(0.0)
            else:
                bs.append(0.0)
                bc.append(0.0)
                ms.append(b_s)
                mc.append(b_c)
    # Without any seasonality Prophet fits one dummy all-zero column.
    if col != beta.shape[0] and not (col == 0 and beta.shape[0] == 1):
        raise ValueError(f"unexpected Prophet feature layout ({col} Fourier columns, {beta.shape[0]} coefficients)")
    k = float(np.asarray(m.params["k"]).mean())
    m0 = float(np.asarray(m.params["m"]).mean())
    deltas = np.asarray(m.params["delta"], dtype=np.float64).mean(axis=0).reshape(-1)
    cps = np.asarray(m.changepoints_t if m.changepoints_t is not None else [], dtype=np.float64).reshape(-1)
    if m.growth == "flat":
        cps = np.zeros(0)
        deltas = np.zeros(0)
    return _Extract(
        start=float(pd.Timestamp(m.start).value) / 1e9,
        t_scale=float(m.t_scale.total_seconds()),
        y_scale=float(m.y_scale),
        floor=0.0,
        k=k,
        m=m0,
        cps=cps,
        deltas=deltas,
        growth=m.growth,
        freqs=np.asarray(freqs, dtype=np.float64),
        beta_sin=np.asarray(bs),
        beta_cos=np.asarray(bc),
        mult_sin=np.asarray(ms),
        mult_cos=np.asarray(mc),
    )


def build_graph(models: list[Any], shape: Shape, offsets: np.ndarray | None = None, name: str = "prophet") -> onnx.ModelProto:
    """One graph for every target: y[b, h, j] = yhat_j(t[b, h]); with ``offsets`` [H, T, Q] (ascending along Q)
    also q[b, h, j, l] = y[b, h, j] + offsets[h, j, l]."""
    ex = [_extract(m) for m in models]
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(nm: str, arr: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float64), nm))
        return nm

    # t [B, H] -> [B, H, 1]
    inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "axes_last"))
    nodes.append(helper.make_node("Unsqueeze", ["t", "axes_last"], ["t3"]))
    const("day", np.array(DAY))
    nodes.append(helper.make_node("Div", ["t3", "day"], ["t_days"]))
    outs: list[str] = []
    for j, e in enumerate(ex):
        p = f"p{j}_"
        # trend = (k + sum_{cp <= ts} delta) * ts + (m + sum_{cp <= ts} -cp*delta), ts = (t - start) / t_scale
        const(p + "start", np.array(e.start))
        const(p + "tscale", np.array(e.t_scale))
        nodes.append(helper.make_node("Sub", ["t3", p + "start"], [p + "t_off"]))
        nodes.append(helper.make_node("Div", [p + "t_off", p + "tscale"], [p + "ts"]))  # [B,H,1]
        const(p + "k", np.array(e.k))
        const(p + "m", np.array(e.m))
        if e.cps.size:
            const(p + "cps", e.cps)  # [C]
            const(p + "deltas", e.deltas.reshape(-1, 1))  # [C,1]
            const(p + "gammas", (-e.cps * e.deltas).reshape(-1, 1))
            nodes.append(helper.make_node("GreaterOrEqual", [p + "ts", p + "cps"], [p + "ind_b"]))  # [B,H,C]
            nodes.append(helper.make_node("Cast", [p + "ind_b"], [p + "ind"], to=TensorProto.DOUBLE))
            nodes.append(helper.make_node("MatMul", [p + "ind", p + "deltas"], [p + "dk"]))  # [B,H,1]
            nodes.append(helper.make_node("MatMul", [p + "ind", p + "gammas"], [p + "dm"]))
            nodes.append(helper.make_node("Add", [p + "k", p + "dk"], [p + "kt"]))
            nodes.append(helper.make_node("Add", [p + "m", p + "dm"], [p + "mt"]))
            nodes.append(helper.make_node("Mul", [p + "kt", p + "ts"], [p + "kts"]))
            nodes.append(helper.make_node("Add", [p + "kts", p + "mt"], [p + "trend_s"]))
        elif e.growth == "flat":
            nodes.append(helper.make_node("Mul", [p + "ts", p + "k"], [p + "zero_k"]))
            const(p + "zero", np.array(0.0))
            nodes.append(helper.make_node("Mul", [p + "ts", p + "zero"], [p + "ts0"]))
            nodes.append(helper.make_node("Add", [p + "ts0", p + "m"], [p + "trend_s"]))
        else:
            nodes.append(helper.make_node("Mul", [p + "ts", p + "k"], [p + "kts"]))
            nodes.append(helper.make_node("Add", [p + "kts", p + "m"], [p + "trend_s"]))
        const(p + "yscale", np.array(e.y_scale))
        const(p + "floor", np.array(e.floor))
        nodes.append(helper.make_node("Mul", [p + "trend_s", p + "yscale"], [p + "trend_y"]))
        nodes.append(helper.make_node("Add", [p + "trend_y", p + "floor"], [p + "trend"]))
        last = p + "trend"
        if e.freqs.size:
            const(p + "freqs", e.freqs)  # [K]
            nodes.append(helper.make_node("Mul", ["t_days", p + "freqs"], [p + "phase"]))  # [B,H,K]
            nodes.append(helper.make_node("Sin", [p + "phase"], [p + "sin"]))
            nodes.append(helper.make_node("Cos", [p + "phase"], [p + "cos"]))
            if np.any(e.beta_sin != 0) or np.any(e.beta_cos != 0):
                const(p + "bs", (e.beta_sin * e.y_scale).reshape(-1, 1))
                const(p + "bc", (e.beta_cos * e.y_scale).reshape(-1, 1))
                nodes.append(helper.make_node("MatMul", [p + "sin", p + "bs"], [p + "as"]))
                nodes.append(helper.make_node("MatMul", [p + "cos", p + "bc"], [p + "ac"]))
                nodes.append(helper.make_node("Add", [p + "as", p + "ac"], [p + "additive"]))
            if np.any(e.mult_sin != 0) or np.any(e.mult_cos != 0):
                const(p + "ms", e.mult_sin.reshape(-1, 1))
                const(p + "mc", e.mult_cos.reshape(-1, 1))
                const(p + "one", np.array(1.0))
                nodes.append(helper.make_node("MatMul", [p + "sin", p + "ms"], [p + "mls"]))
                nodes.append(helper.make_node("MatMul", [p + "cos", p + "mc"], [p + "mlc"]))
                nodes.append(helper.make_node("Add", [p + "mls", p + "mlc"], [p + "mult"]))
                nodes.append(helper.make_node("Add", [p + "mult", p + "one"], [p + "mult1"]))
                nodes.append(helper.make_node("Mul", [last, p + "mult1"], [p + "trend_m"]))
                last = p + "trend_m"
            if np.any(e.beta_sin != 0) or np.any(e.beta_cos != 0):
                nodes.append(helper.make_node("Add", [last, p + "additive"], [p + "yhat"]))
                last = p + "yhat"
        outs.append(last)
    if len(outs) == 1:
        nodes.append(helper.make_node("Identity", [outs[0]], ["y64"]))
    else:
        nodes.append(helper.make_node("Concat", outs, ["y64"], axis=-1))
    nodes.append(helper.make_node("Cast", ["y64"], ["y"], to=TensorProto.FLOAT))
    x_in = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", shape.window, shape.n_features])
    t_in = helper.make_tensor_value_info("t", TensorProto.DOUBLE, ["batch", shape.horizon])
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", shape.horizon, len(models)])]
    if offsets is not None:
        # in float64 before the cast, so q is float32 rounding of y + offset even where the two nearly cancel
        const("q_offsets", offsets)
        nodes.append(helper.make_node("Unsqueeze", ["y64", "axes_last"], ["y64_4"]))
        nodes.append(helper.make_node("Add", ["y64_4", "q_offsets"], ["q64"]))
        nodes.append(helper.make_node("Cast", ["q64"], ["q"], to=TensorProto.FLOAT))
        q_dims: list[str | int] = ["batch", shape.horizon, len(models), int(offsets.shape[-1])]
        outputs.append(helper.make_tensor_value_info("q", TensorProto.FLOAT, q_dims))
    graph = helper.make_graph(nodes, name, [x_in, t_in], outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="flts_train")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
