"""Issue 16 research: multi-horizon ridge / LightGBM / (GRU) / validation-weighted ensemble, with conformal intervals.

For one data set: fit on the train CSV (the last 15% of its windows is the validation slice), score on the test
CSV with the evaluation's windows (the last ``window`` rows, then ``horizon`` steps, no gap over the tolerance;
persistence = the last value). Reports per family and target the MAE and RMSE ratio to persistence at horizons
1, 5, 15, 30, the 0.1-0.9 interval coverage at h=1 and h=30, and fit seconds. Logs go to stderr; the last line of
stdout is the JSON result.

    OMP_NUM_THREADS=1 nice -n 19 /work/r16venv/bin/python functions/train/scripts/horizon_study.py --data data/PobleSec.csv
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions" / "train" / "src"))
from flts_train.data import Series, Windows, make_windows, read_csv
from flts_train.shape import Shape

DAY = 86400.0
LOG_MIN_MAX = 1000.0  # the trainer's rule (rnn.py): a non-negative column with train max above this is a volume
REPORT_H = (1, 5, 15, 30)
QUANTILES = (0.1, 0.5, 0.9)
Predictor = Callable[[Windows], np.ndarray]  # windows -> predicted change in the transformed space [n, H, T]


def log(event: str, **kv: Any) -> None:
    sys.stderr.write(json.dumps({"event": event, **kv}, default=float) + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- data and transforms


@dataclass(frozen=True)
class Transform:
    """log1p of volume columns, then standardisation with fit-part statistics (as the RNN graph does)."""

    log_mask: np.ndarray  # [F] 1.0 where log1p
    mean: np.ndarray  # [F]
    std: np.ndarray  # [F]
    target_idx: list[int]

    @staticmethod
    def fit(rows: np.ndarray, target_idx: list[int]) -> Transform:
        mask = ((rows.min(axis=0) >= 0) & (rows.max(axis=0) > LOG_MIN_MAX)).astype(np.float64)
        g = g_of(rows, mask)
        std = g.std(axis=0)
        return Transform(mask, g.mean(axis=0), np.where(std > 1e-12, std, 1.0), target_idx)

    @property
    def tmask(self) -> np.ndarray:
        return self.log_mask[self.target_idx]

    def z(self, x: np.ndarray) -> np.ndarray:
        return (g_of(x, self.log_mask) - self.mean) / self.std

    def base(self, w: Windows) -> np.ndarray:
        """Transformed last target value [n, T]."""
        return g_of(w.last, self.tmask)

    def delta(self, w: Windows) -> np.ndarray:
        """Transformed change from the last value [n, H, T] (the regression target)."""
        return g_of(w.y, self.tmask) - self.base(w)[:, None, :]

    def raw(self, w: Windows, d: np.ndarray) -> np.ndarray:
        yg = self.base(w)[:, None, :] + d
        return inv_g(yg, self.tmask)


def g_of(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.where(mask > 0, np.log1p(np.maximum(v, 0.0)), v)
    return out


def inv_g(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.where(mask > 0, np.expm1(np.minimum(v, 80.0)), v)
    return out


def tod(t: np.ndarray, harmonics: int) -> np.ndarray:
    """Time-of-day features of unix seconds ``t`` [n]: sin/cos of k·phase, k = 1..harmonics -> [n, 2·harmonics]."""
    phase = np.remainder(t, DAY) * (2.0 * np.pi / DAY)
    cols = []
    for k in range(1, harmonics + 1):
        cols += [np.sin(k * phase), np.cos(k * phase)]
    return np.stack(cols, axis=1)


def lag_features(tr: Transform, w: Windows, relative: bool) -> np.ndarray:
    """The anchors' features: the last ``window`` steps of every column, transformed and standardised [n, W·F].

    ``relative``: each lag as its difference to the last row (plus the last row itself), friendlier to trees."""
    z = tr.z(w.x)
    if relative:
        z = np.concatenate([z[:, :-1, :] - z[:, -1:, :], z[:, -1:, :]], axis=1)
    out: np.ndarray = z.reshape(z.shape[0], -1)
    return out


def split(w: Windows, n_fit: int) -> tuple[Windows, Windows]:
    a = Windows(w.x[:n_fit], w.t[:n_fit], w.y[:n_fit], w.last[:n_fit])
    b = Windows(w.x[n_fit:], w.t[n_fit:], w.y[n_fit:], w.last[n_fit:])
    return a, b


def seasonal(test: Series, w: Windows, targets: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Same time yesterday from the test split itself (what evaluation has): values [n, H, T], mask [n, H]."""
    index = {round(s): i for i, s in enumerate(test.times)}
    tv = test.select(targets)
    keys = np.rint(w.t - DAY).astype(np.int64)
    rows = np.vectorize(lambda k: index.get(int(k), -1))(keys)
    ok = rows >= 0
    vals = tv[np.where(ok, rows, 0)]
    return vals, ok


# ---------------------------------------------------------------- families


@dataclass
class Member:
    name: str
    fit_seconds: float
    val_d: np.ndarray  # predicted transformed change on the validation slice [n_val, H, T]
    test_d: np.ndarray  # ... on the test windows
    h1_d: np.ndarray  # h=1 on the horizon-1 test windows (the anchors' window set) [n1, 1, T]
    info: dict[str, Any] = field(default_factory=dict)


def ridge_fit(
    X: np.ndarray, Y: np.ndarray, Xv: np.ndarray, Yv_raw: np.ndarray, to_raw: Callable[[np.ndarray], np.ndarray], alphas: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Multi-output ridge with an intercept; the alpha of each output column chosen by validation MAE (raw units).

    X [n, p], Y [n, k] -> (W [p, k], b [k], alpha per column)."""
    xm, ym = X.mean(axis=0), Y.mean(axis=0)
    U, s, Vt = np.linalg.svd(X - xm, full_matrices=False)
    UtY = U.T @ (Y - ym)
    best_w = np.zeros((X.shape[1], Y.shape[1]))
    best_mae = np.full(Y.shape[1], np.inf)
    best_a = [0.0] * Y.shape[1]
    for a in alphas:
        W = Vt.T @ ((s / (s**2 + a))[:, None] * UtY)
        pv = to_raw((Xv - xm) @ W + ym)
        mae = np.abs(pv - Yv_raw).mean(axis=0)
        better = mae < best_mae
        best_w[:, better] = W[:, better]
        best_mae[better] = mae[better]
        for j in np.nonzero(better)[0]:
            best_a[int(j)] = a
    b = ym - xm @ best_w
    return best_w, b, best_a


def ridge_cv_alphas(
    X: np.ndarray,
    Y: np.ndarray,
    to_raw: Callable[[np.ndarray, slice], np.ndarray],
    y_raw: np.ndarray,
    alphas: tuple[float, ...],
    folds: int,
) -> list[float]:
    """The alpha of each output column by blocked K-fold CV over the given windows (contiguous blocks; MAE in raw units)."""
    n = X.shape[0]
    edges = np.linspace(0, n, folds + 1).astype(int)
    err = np.zeros((len(alphas), Y.shape[1]))
    for k in range(folds):
        te = slice(int(edges[k]), int(edges[k + 1]))
        keep = np.ones(n, dtype=bool)
        keep[te] = False
        xm, ym = X[keep].mean(axis=0), Y[keep].mean(axis=0)
        U, s, Vt = np.linalg.svd(X[keep] - xm, full_matrices=False)
        UtY = U.T @ (Y[keep] - ym)
        for i, a in enumerate(alphas):
            W = Vt.T @ ((s / (s**2 + a))[:, None] * UtY)
            err[i] += np.abs(to_raw((X[te] - xm) @ W + ym, te) - y_raw[te]).sum(axis=0)
    return [alphas[int(i)] for i in np.argmin(err, axis=0)]


def ridge_solve(X: np.ndarray, Y: np.ndarray, alphas: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Ridge with an intercept and one alpha per output column."""
    xm, ym = X.mean(axis=0), Y.mean(axis=0)
    Xc = X - xm
    G = Xc.T @ Xc
    XtY = Xc.T @ (Y - ym)
    W = np.zeros((X.shape[1], Y.shape[1]))
    for a in sorted(set(alphas)):
        cols = [j for j, v in enumerate(alphas) if v == a]
        W[:, cols] = np.linalg.solve(G + a * np.eye(G.shape[0]), XtY[:, cols])
    return W, ym - xm @ W


def ridge_member(
    name: str,
    tr: Transform,
    fit: Windows,
    val: Windows,
    test: Windows,
    test1: Windows,
    harmonics: int,
    refit: Windows | None = None,
    alpha_grid: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0),
    cv_folds: int = 0,
) -> Member:
    started = time.monotonic()

    def feats(w: Windows) -> np.ndarray:
        f = lag_features(tr, w, relative=False)
        return np.concatenate([f, tod(w.t[:, 0], harmonics)], axis=1) if harmonics else f

    n, H, T = fit.y.shape
    Y = tr.delta(fit).reshape(n, H * T)
    Xv = feats(val)

    def to_raw(dflat: np.ndarray) -> np.ndarray:
        return tr.raw(val, dflat.reshape(-1, H, T)).reshape(-1, H * T)

    W, b, alphas = ridge_fit(feats(fit), Y, Xv, val.y.reshape(-1, H * T), to_raw, alpha_grid)
    if cv_folds > 1:  # the alphas by blocked CV over all train windows instead of the single validation slice
        src = refit if refit is not None else fit
        Xa = feats(src)

        def to_raw_cv(dflat: np.ndarray, sl: slice) -> np.ndarray:
            w = Windows(src.x[sl], src.t[sl], src.y[sl], src.last[sl])
            return tr.raw(w, dflat.reshape(-1, H, T)).reshape(-1, H * T)

        alphas = ridge_cv_alphas(Xa, tr.delta(src).reshape(-1, H * T), to_raw_cv, src.y.reshape(-1, H * T), alpha_grid, cv_folds)
        W, b = ridge_solve(feats(fit), Y, alphas)
    val_d = (Xv @ W + b).reshape(-1, H, T)
    if refit is not None:  # the chosen alphas, all train windows (val predictions stay out-of-sample)
        W, b = ridge_solve(feats(refit), tr.delta(refit).reshape(-1, H * T), alphas)
    secs = time.monotonic() - started

    def pred(w: Windows) -> np.ndarray:
        out: np.ndarray = (feats(w) @ W + b).reshape(-1, H, T)
        return out

    m = Member(name, secs, val_d, pred(test), pred(test1)[:, :1, :])
    m.info = {
        "alphas_h1": alphas[:T],
        "alphas_h30": alphas[-T:],
        "n_features": int(W.shape[0]),
        "W": W,
        "b": b,
        "harmonics": harmonics,
        "alphas": alphas,
    }
    return m


def lgbm_member(
    name: str,
    tr: Transform,
    fit: Windows,
    val: Windows,
    test: Windows,
    test1: Windows,
    anchors: tuple[int, ...],
    relative: bool,
    params: dict[str, Any],
    refit: Windows | None = None,
    seeds: int = 1,
) -> Member:
    """One L1 LightGBM per (anchor horizon, target) with time of day of that step; other steps interpolated linearly."""
    import lightgbm as lgb

    _, H, T = fit.y.shape
    started = time.monotonic()
    base = {tag: lag_features(tr, w, relative) for tag, w in (("fit", fit), ("val", val), ("test", test), ("test1", test1))}
    wins = {"fit": fit, "val": val, "test": test, "test1": test1}
    if refit is not None:
        base["all"] = lag_features(tr, refit, relative)
        wins["all"] = refit
        dall = tr.delta(refit)
    dfit, dval = tr.delta(fit), tr.delta(val)
    out = {tag: np.zeros((w.x.shape[0], len(anchors), T)) for tag, w in wins.items()}
    models: dict[tuple[int, int], Any] = {}
    rounds: dict[str, int] = {}
    for a_i, h in enumerate(anchors):
        feats = {}
        for tag, w in wins.items():
            th = w.t[:, h - 1] if h <= w.t.shape[1] else w.t[:, 0] + (h - 1) * (w.t[:, 1] - w.t[:, 0] if w.t.shape[1] > 1 else 120.0)
            feats[tag] = np.concatenate([base[tag], tod(th, 1)], axis=1).astype(np.float32)
        if a_i == 0:
            feats_test_first = feats["test"]
        for j in range(T):
            fitted: list[tuple[Any, int]] = []
            for seed in range(seeds):
                p_s = {**params, "random_state": int(params["random_state"]) + seed}
                mdl = lgb.LGBMRegressor(**p_s)
                mdl.fit(
                    feats["fit"],
                    dfit[:, h - 1, j],
                    eval_X=(feats["val"],),
                    eval_y=(dval[:, h - 1, j],),
                    eval_metric="l1",
                    callbacks=[lgb.early_stopping(50, verbose=False)],
                )
                best = int(mdl.best_iteration_ or params["n_estimators"])
                rounds[f"h{h}_t{j}_s{seed}"] = best
                out["val"][:, a_i, j] += mdl.predict(feats["val"], num_iteration=best) / seeds
                if refit is not None:  # the chosen rounds, all train windows
                    mdl = lgb.LGBMRegressor(**{**p_s, "n_estimators": best})
                    mdl.fit(feats["all"], dall[:, h - 1, j])
                fitted.append((mdl, best))
            models[(h, j)] = fitted
            for tag in ("test", "test1"):
                if tag == "test1" and h != 1:
                    continue
                out[tag][:, a_i, j] = np.mean([mdl.predict(feats[tag], num_iteration=best) for mdl, best in fitted], axis=0)
        log("lgbm_anchor", family=name, h=h, seconds=round(time.monotonic() - started, 1))
    secs = time.monotonic() - started
    M = interp_matrix(anchors, H)  # [H, A]
    m = Member(name, secs, np.einsum("ha,nat->nht", M, out["val"]), np.einsum("ha,nat->nht", M, out["test"]), out["test1"][:, :1, :])
    m.info = {
        "anchors": list(anchors),
        "best_rounds": rounds,
        "models": models,
        "relative": relative,
        "interp": M,
        "feats_test_h1": feats_test_first,
    }
    return m


def lgbm_stack_member(
    name: str,
    tr: Transform,
    fit: Windows,
    val: Windows,
    test: Windows,
    test1: Windows,
    train_h: tuple[int, ...],
    relative: bool,
    params: dict[str, Any],
    refit: Windows | None = None,
) -> Member:
    """One L1 LightGBM per target over stacked (window, step) rows: lags + time of day of the step + the step number;
    trained on the steps ``train_h``, predicts every step 1..H."""
    import lightgbm as lgb

    _, H, T = fit.y.shape
    started = time.monotonic()

    def rows(w: Windows, hs: tuple[int, ...]) -> np.ndarray:
        lags = lag_features(tr, w, relative)

        def t_of(h: int) -> np.ndarray:  # the step's own time (as the graph reads it from t)
            return w.t[:, h - 1] if h <= w.t.shape[1] else w.t[:, 0] + (h - 1) * 120.0

        blocks = [np.concatenate([lags, tod(t_of(h), 1), np.full((lags.shape[0], 1), float(h))], axis=1) for h in hs]
        return np.concatenate(blocks, axis=0).astype(np.float32)  # [len(hs)·n, p], step-major

    def targets_of(w: Windows, hs: tuple[int, ...]) -> np.ndarray:
        d = tr.delta(w)
        return np.concatenate([d[:, h - 1, :] for h in hs], axis=0)  # [len(hs)·n, T]

    Xf, Yf = rows(fit, train_h), targets_of(fit, train_h)
    Xv1, Yv1 = rows(val, train_h), targets_of(val, train_h)
    all_h = tuple(range(1, H + 1))
    Xv, Xt, X1 = rows(val, all_h), rows(test, all_h), rows(test1, (1,))
    out = {"val": np.zeros((val.x.shape[0], H, T)), "test": np.zeros((test.x.shape[0], H, T)), "test1": np.zeros((test1.x.shape[0], 1, T))}
    models = {}
    rounds = {}
    for j in range(T):
        mdl = lgb.LGBMRegressor(**params)
        mdl.fit(Xf, Yf[:, j], eval_X=(Xv1,), eval_y=(Yv1[:, j],), eval_metric="l1", callbacks=[lgb.early_stopping(50, verbose=False)])
        best = int(mdl.best_iteration_ or params["n_estimators"])
        rounds[f"t{j}"] = best
        out["val"][:, :, j] = mdl.predict(Xv, num_iteration=best).reshape(H, -1).T
        if refit is not None:
            mdl = lgb.LGBMRegressor(**{**params, "n_estimators": best})
            mdl.fit(rows(refit, train_h), targets_of(refit, train_h)[:, j])
        models[j] = (mdl, best)
        out["test"][:, :, j] = mdl.predict(Xt, num_iteration=best).reshape(H, -1).T
        out["test1"][:, :, j] = mdl.predict(X1, num_iteration=best).reshape(1, -1).T
        log("lgbm_stack_target", target=j, rounds=best, seconds=round(time.monotonic() - started, 1))
    m = Member(name, time.monotonic() - started, out["val"], out["test"], out["test1"])
    m.info = {"train_h": list(train_h), "best_rounds": rounds, "models": models, "relative": relative}
    return m


def interp_matrix(anchors: tuple[int, ...], H: int) -> np.ndarray:
    """[H, A]: linear interpolation of steps 1..H from the anchor steps (held flat outside them)."""
    M = np.zeros((H, len(anchors)))
    for h in range(1, H + 1):
        if h <= anchors[0]:
            M[h - 1, 0] = 1.0
            continue
        if h >= anchors[-1]:
            M[h - 1, -1] = 1.0
            continue
        k = int(np.searchsorted(anchors, h))
        lo, hi = anchors[k - 1], anchors[k]
        f = (h - lo) / (hi - lo)
        M[h - 1, k - 1], M[h - 1, k] = 1.0 - f, f
    return M


def gru_member(tr: Transform, train_w: Windows, shape: Shape, val: Windows, test: Windows, test1: Windows, seconds: float) -> Member:
    """The trainer's GRU (rnn_fit, read-only import) with its own val split (the same last 15% of windows)."""
    from flts_train.models import rnn, rnn_fit

    hp = rnn.RnnHyper(max_train_seconds=seconds)
    started = time.monotonic()
    res = rnn_fit.fit("GRU", train_w, shape, hp, 42, device_request="cpu")
    secs = time.monotonic() - started

    def d_of(w: Windows, h: int) -> np.ndarray:
        t = w.t
        if t.shape[1] < shape.horizon:  # horizon-1 windows: the steps' times follow from the first one
            t = t[:, :1] + shape.step_seconds * np.arange(shape.horizon)[None, :]
        y = rnn.predict(res.model, w.x, t)[:, :h, :].astype(np.float64)
        return g_of(y, tr.tmask) - tr.base(w)[:, None, :]

    m = Member("gru", secs, d_of(val, shape.horizon), d_of(test, shape.horizon), d_of(test1, 1))
    m.info = {"epochs": res.epochs, "best_epoch": res.best_epoch}
    return m


# ---------------------------------------------------------------- ensemble, intervals, scores


def simplex(k: int, step: float) -> np.ndarray:
    n = round(1 / step)
    pts: list[list[float]] = []

    def rec(prefix: list[int], left: int) -> None:
        if len(prefix) == k - 1:
            pts.append([p * step for p in prefix] + [left * step])
            return
        for i in range(left + 1):
            rec([*prefix, i], left - i)

    rec([], n)
    return np.array(pts)


def ensemble_weights(val_raw: list[np.ndarray], y: np.ndarray, per_horizon: bool, step: float = 0.05) -> np.ndarray:
    """Non-negative weights summing to 1 per (horizon, target) [H, T, K] minimising validation MAE in raw units."""
    P = np.stack(val_raw, axis=-1)  # [n, H, T, K]
    grid = simplex(P.shape[-1], step)  # [G, K]
    _, H, T, K = P.shape
    W = np.zeros((H, T, K))
    for j in range(T):
        if per_horizon:
            for h in range(H):
                mae = np.abs(P[:, h, j, :] @ grid.T - y[:, h, j, None]).mean(axis=0)
                W[h, j] = grid[int(np.argmin(mae))]
        else:
            mae = np.abs(np.einsum("nhk,gk->nhg", P[:, :, j, :], grid) - y[:, :, j, None]).mean(axis=(0, 1))
            W[:, j] = grid[int(np.argmin(mae))]
    return W


def conformal(val_pred_raw: np.ndarray, val: Windows, tmask: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """Split-conformal offsets in the transformed space: quantiles of g(y) - g(pred) on the validation slice [Q, H, T]
    (of the residual divided by the window's ``scale`` [n, T] when given)."""
    r = g_of(val.y, tmask) - g_of(val_pred_raw, tmask)
    if scale is not None:
        r = r / scale[:, None, :]
    n = r.shape[0]
    qs = []
    for q in QUANTILES:
        level = min(1.0, max(0.0, (np.ceil((n + 1) * q) - 1) / n)) if q > 0.5 else max(0.0, np.floor((n + 1) * q) / n)
        qs.append(np.quantile(r, level, axis=0) if q != 0.5 else np.median(r, axis=0))
    return np.stack(qs)


def intervals(pred_raw: np.ndarray, offsets: np.ndarray, tmask: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """[n, H, T, Q] quantile forecasts in raw units (offsets times the window's ``scale`` [n, T] when given)."""
    g = g_of(pred_raw, tmask)
    s = np.ones((g.shape[0], 1, g.shape[2])) if scale is None else scale[:, None, :]
    return np.stack([inv_g(g + s * offsets[i], tmask) for i in range(offsets.shape[0])], axis=-1)


def volatility(tr: Transform, w: Windows) -> np.ndarray:
    """Mean absolute step change of each transformed target over the window [n, T] (the scale of scaled conformal)."""
    g = g_of(w.x[:, :, tr.target_idx], tr.tmask)
    out: np.ndarray = np.abs(np.diff(g, axis=1)).mean(axis=1) + 1e-3
    return out


def ratios(pred: np.ndarray, truth: np.ndarray, last: np.ndarray, targets: tuple[str, ...], hs: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for j, name in enumerate(targets):
        per: dict[str, Any] = {}
        for h in hs:
            e = pred[:, h - 1, j] - truth[:, h - 1, j]
            p = last[:, j] - truth[:, h - 1, j]
            per[f"h{h}"] = {
                "mae": round(float(np.abs(e).mean() / np.abs(p).mean()), 4),
                "rmse": round(float(np.sqrt((e**2).mean() / (p**2).mean())), 4),
            }
        out[name] = per
    return out


def coverage(q: np.ndarray, truth: np.ndarray, targets: tuple[str, ...], hs: tuple[int, ...]) -> dict[str, Any]:
    lo, hi = q[..., 0], q[..., -1]
    inside = (truth >= lo) & (truth <= hi)
    out: dict[str, Any] = {}
    for j, name in enumerate(targets):
        out[name] = {f"h{h}": round(float(inside[:, h - 1, j].mean()), 4) for h in hs}
    return out


def pinball(q: np.ndarray, truth: np.ndarray, last: np.ndarray, targets: tuple[str, ...], hs: tuple[int, ...]) -> dict[str, Any]:
    """Mean pinball loss over the quantiles, relative to persistence's MAE at the step (scale-free)."""
    out: dict[str, Any] = {}
    for j, name in enumerate(targets):
        per = {}
        for h in hs:
            y = truth[:, h - 1, j]
            loss = 0.0
            for i, qq in enumerate(QUANTILES):
                e = y - q[:, h - 1, j, i]
                loss += float(np.maximum(qq * e, (qq - 1) * e).mean())
            per[f"h{h}"] = round(loss / len(QUANTILES) / float(np.abs(last[:, j] - y).mean()), 4)
        out[name] = per
    return out


# ---------------------------------------------------------------- the study


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data)
    test_path = Path(args.test) if args.test else data.with_name(data.stem + "_test.csv")
    train_s, test_s = read_csv(str(data)), read_csv(str(test_path))
    targets = ("down", "up")
    features = train_s.columns
    H = args.horizon
    shape = Shape(args.window, H, features, targets, 120.0)
    shape1 = Shape(args.window, 1, features, targets, 120.0)
    wtrain = make_windows(train_s, shape, 360.0)
    wtest = make_windows(test_s, shape, 360.0)
    wtest1 = make_windows(test_s, shape1, 360.0)
    n = wtrain.x.shape[0]
    n_val = max(1, round(n * 0.15))
    fit, val = split(wtrain, n - n_val)
    tr = Transform.fit(fit.x.reshape(-1, fit.x.shape[-1]), shape.target_idx)
    log(
        "windows",
        data=str(data),
        train=n,
        fit=n - n_val,
        val=n_val,
        test=int(wtest.x.shape[0]),
        test_h1=int(wtest1.x.shape[0]),
        log_columns=[f for f, m in zip(features, tr.log_mask, strict=True) if m > 0],
    )

    members: list[Member] = []
    refit = wtrain if args.refit else None
    grid = tuple(float(a) for a in args.ridge_alphas.split(","))
    members.append(
        ridge_member("ridge_anchor", tr, fit, val, wtest, wtest1, harmonics=0, refit=refit, alpha_grid=grid, cv_folds=args.ridge_cv)
    )
    if args.ridge_low_alpha > 0:  # the anchors' own ridge (one small alpha, no time of day) as one more member
        members.append(ridge_member("ridge_low", tr, fit, val, wtest, wtest1, harmonics=0, refit=refit, alpha_grid=(args.ridge_low_alpha,)))
    members.append(
        ridge_member("ridge_tod", tr, fit, val, wtest, wtest1, harmonics=2, refit=refit, alpha_grid=grid, cv_folds=args.ridge_cv)
    )
    log("linear_done", seconds=[round(m.fit_seconds, 2) for m in members])
    lgb_params = {
        "objective": "l1",
        "n_estimators": args.lgbm_rounds,
        "learning_rate": args.lgbm_lr,
        "num_leaves": args.lgbm_leaves,
        "min_child_samples": args.lgbm_min_child,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": args.lgbm_colsample,
        "max_bin": args.lgbm_max_bin,
        "num_threads": 1,
        "verbose": -1,
        "random_state": args.seed,
    }
    anchors = tuple(int(a) for a in args.anchors.split(",") if int(a) <= H)
    if not args.no_lgbm:
        members.append(lgbm_member("lgbm", tr, fit, val, wtest, wtest1, anchors, args.relative, lgb_params, refit, args.lgbm_seeds))
    if args.stack_h:
        stack_h = tuple(int(a) for a in args.stack_h.split(",") if int(a) <= H)
        members.append(lgbm_stack_member("lgbm_stack", tr, fit, val, wtest, wtest1, stack_h, args.relative, lgb_params, refit))
    if args.gru_seconds > 0:
        members.append(gru_member(tr, wtrain, shape, val, wtest, wtest1, args.gru_seconds))
    for m in members:
        log("member", name=m.name, fit_seconds=round(m.fit_seconds, 2))

    hs = tuple(h for h in REPORT_H if h <= H)
    results: dict[str, Any] = {}
    vol = {"val": volatility(tr, val), "test": volatility(tr, wtest), "test1": volatility(tr, wtest1)}
    raw = {m.name: (tr.raw(val, m.val_d), tr.raw(wtest, m.test_d), tr.raw(wtest1, m.h1_d)) for m in members}

    def score(name: str, vr: np.ndarray, te: np.ndarray, t1: np.ndarray, secs: float, extra: dict[str, Any]) -> None:
        off = conformal(vr, val, tr.tmask)
        q = intervals(te, off, tr.tmask)
        q1 = intervals(t1, off[:, :1], tr.tmask)
        off_s = conformal(vr, val, tr.tmask, vol["val"])
        q_s = intervals(te, off_s, tr.tmask, vol["test"])
        q1_s = intervals(t1, off_s[:, :1], tr.tmask, vol["test1"])
        results[name] = {
            "fit_seconds": round(secs, 2),
            "h1_anchor_windows": ratios(t1, wtest1.y, wtest1.last, targets, (1,)),
            "test": ratios(te, wtest.y, wtest.last, targets, hs),
            "val": ratios(vr, val.y, val.last, targets, (1, H)),
            "coverage_80": coverage(q, wtest.y, targets, (1, H)),
            "coverage_80_h1_anchor_windows": coverage(q1, wtest1.y, targets, (1,)),
            "pinball_rel": pinball(q, wtest.y, wtest.last, targets, (1, H)),
            "coverage_80_scaled": coverage(q_s, wtest.y, targets, (1, H)),
            "coverage_80_scaled_h1_anchor_windows": coverage(q1_s, wtest1.y, targets, (1,)),
            "pinball_rel_scaled": pinball(q_s, wtest.y, wtest.last, targets, (1, H)),
            **extra,
        }

    for m in members:
        info = {k: v for k, v in m.info.items() if k in ("alphas_h1", "alphas_h30", "n_features", "anchors", "epochs", "best_epoch")}
        if "best_rounds" in m.info:
            info["best_rounds"] = m.info["best_rounds"]
        score(m.name, *raw[m.name], m.fit_seconds, info)

    members[0].info["val_windows"] = val
    pool = [m.name for m in members if m.name in args.pool.split(",")]
    ens_w: dict[bool, np.ndarray] = {}
    if args.persistence_member:  # a zero change: the weights can shrink the ensemble towards persistence
        zero = np.zeros_like(members[0].val_d)
        raw["persistence"] = (
            tr.raw(val, zero),
            tr.raw(wtest, np.zeros_like(members[0].test_d)),
            tr.raw(wtest1, np.zeros_like(members[0].h1_d)),
        )
        pool.append("persistence")
    for per_h in (False, True):
        W = ensemble_weights([raw[k][0] for k in pool], val.y, per_h)
        ens_w[per_h] = W
        comb = [sum(W[None, :, :, i] * raw[k][idx] for i, k in enumerate(pool)) for idx in (0, 1)]
        c1 = sum(W[None, :1, :, i] * raw[k][2] for i, k in enumerate(pool))
        assert isinstance(c1, np.ndarray)
        weights = {
            t: {f"h{h}": dict(zip(pool, [round(float(v), 2) for v in W[h - 1, j]], strict=True)) for h in hs} for j, t in enumerate(targets)
        }
        score(
            "ensemble_per_h" if per_h else "ensemble",
            comb[0],
            comb[1],
            c1,
            sum(m.fit_seconds for m in members if m.name in pool),
            {"members": pool, "weights": weights},
        )

    pers_te = np.repeat(wtest.last[:, None, :], H, axis=1)
    sv, ok = seasonal(test_s, wtest, targets)
    seas: dict[str, Any] = {"windows_with_yesterday_at_h1": int(ok[:, 0].sum()), "of": int(ok.shape[0])}
    if ok[:, -1].sum() > 0:
        sel = ok[:, -1]
        seas.update(ratios(sv[sel], wtest.y[sel], wtest.last[sel], targets, hs))
    results["seasonal_yesterday"] = seas
    results["persistence_mae"] = {
        t: {f"h{h}": float(np.abs(pers_te[:, h - 1, j] - wtest.y[:, h - 1, j]).mean()) for h in hs} for j, t in enumerate(targets)
    }

    onnx_report: dict[str, Any] = {}
    if args.onnx:
        from horizon_onnx import check_onnx

        onnx_report = check_onnx(tr, shape, members, wtest, Path(args.onnx), (pool, ens_w[True]) if "persistence" not in pool else None)
    return {
        "data": str(data),
        "test": str(test_path),
        "horizon": H,
        "window": args.window,
        "windows": {"fit": n - n_val, "val": n_val, "test": int(wtest.x.shape[0]), "test_h1": int(wtest1.x.shape[0])},
        "results": results,
        "onnx": onnx_report,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="train CSV (the test CSV defaults to <stem>_test.csv beside it)")
    p.add_argument("--test", default=None)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--horizon", type=int, default=30)
    p.add_argument("--anchors", default="1,5,15,30", help="LightGBM horizons fitted directly; the others interpolated")
    p.add_argument("--relative", action="store_true", help="LightGBM lags as differences to the last row")
    p.add_argument("--lgbm-rounds", type=int, default=1000)
    p.add_argument("--lgbm-lr", type=float, default=0.05)
    p.add_argument("--lgbm-leaves", type=int, default=31)
    p.add_argument("--no-lgbm", action="store_true")
    p.add_argument(
        "--stack-h", default="", help="also a stacked LightGBM (step as a feature) trained on these steps, e.g. 1,2,3,5,8,12,17,23,30"
    )
    p.add_argument("--pool", default="ridge_tod,lgbm,gru", help="ensemble members (those fitted)")
    p.add_argument("--persistence-member", action="store_true")
    p.add_argument("--lgbm-min-child", type=int, default=20)
    p.add_argument("--seed", type=int, default=42, help="LightGBM random_state")
    p.add_argument("--lgbm-colsample", type=float, default=0.8)
    p.add_argument("--lgbm-max-bin", type=int, default=255)
    p.add_argument("--ridge-low-alpha", type=float, default=0.0, help="> 0: also a ridge member with this one alpha (the anchors used 1)")
    p.add_argument("--ridge-cv", type=int, default=0, help="> 1: choose ridge alphas by blocked K-fold CV over the train windows")
    p.add_argument("--lgbm-seeds", type=int, default=1, help="average this many LightGBM fits (bagging seeds) per model")
    p.add_argument("--ridge-alphas", default="0.1,1,10,100,1000,10000", help="ridge penalties tried (chosen per output on validation)")
    p.add_argument("--refit", action="store_true", help="refit ridge/LightGBM on all train windows with the validation-chosen alpha/rounds")
    p.add_argument("--gru-seconds", type=float, default=0.0, help="> 0: also fit the trainer's GRU with this time cap")
    p.add_argument("--onnx", default="", help="a folder: export ridge + one LightGBM to ONNX there and check parity")
    args = p.parse_args()
    started = time.monotonic()
    out = run(args)
    out["total_seconds"] = round(time.monotonic() - started, 1)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
