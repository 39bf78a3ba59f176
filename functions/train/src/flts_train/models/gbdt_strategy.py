"""GBDT: LightGBM (L1) on lag features, a direct one-step model and a stacked all-steps model per target; in the full
preset also an extremely randomized forest (scikit-learn ExtraTrees) at step 1, offered to an ENSEMBLE as the component
``y_forest`` (on ElBorn `down` it is the best single model at step 1 on validation and on test: MAE ratio to
persistence 0.902 / 0.859, the others' 0.904-0.938 / 0.864-0.882; 50 trees with leaves of 40 or more keep the
ENSEMBLE's graph small enough for a p99 under 10 ms at horizon 30).

Both are fitted on the fit part with early stopping on the validation slice (``data.validation_split``), the step-1
blend of the two is chosen there, conformal offsets come from their validation predictions; then every booster is
refitted on all train windows with its best number of rounds. Above ``cheap_above_windows`` train windows a cheaper
preset keeps the fit near 20 s on one thread (the research's measured trade-off).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import log
from ..data import DataError, Windows, validation_split
from . import conformal
from .base import FitJob, Fitted, ValidationPredictions, timed
from .gbdt_features import Features, direct_rows, stacked_rows
from .graph_parts import OPSET
from .overrides import is_number, reject_unknown

if TYPE_CHECKING:
    import lightgbm as lgb
    from sklearn.ensemble import ExtraTreesRegressor

MIN_WINDOWS = 20
BLEND_GRID = np.linspace(0.0, 1.0, 11)
PRESETS: dict[str, dict[str, Any]] = {
    "full": {
        "learning_rate": 0.05,
        "max_bin": 255,
        "colsample_bytree": 0.8,
        "stack_steps": (1, 2, 3, 5, 8, 12, 17, 23, 30),
        "seeds": 3,
        "forest_trees": 50,
    },
    "cheap": {
        "learning_rate": 0.1,
        "max_bin": 63,
        "colsample_bytree": 0.5,
        "stack_steps": (1, 3, 8, 17, 30),
        "seeds": 3,
        "forest_trees": 0,
    },
}


@dataclass
class GbdtHyper:
    preset: str = "auto"  # auto | full | cheap
    cheap_above_windows: int = 8000
    learning_rate: float | None = None  # None: the preset's
    max_bin: int | None = None
    colsample_bytree: float | None = None
    stack_steps: tuple[int, ...] | None = None  # steps the stacked model trains on (∩ 1..horizon, plus the horizon)
    seeds: int | None = None  # direct boosters averaged per target
    forest_trees: int | None = None  # trees of the step-1 forest per target (0: none; needs a stacked model)
    forest_min_leaf: int = 40
    forest_max_features: float = 0.5
    num_leaves: int = 31
    min_child_samples: int = 20
    subsample: float = 0.8
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    num_threads: int = 1

    @staticmethod
    def from_overrides(overrides: dict[str, Any]) -> GbdtHyper:
        """The caller's hyperparameters, each checked (a ValueError names the first bad one)."""
        reject_unknown("GBDT", overrides, GbdtHyper)
        for name, value in overrides.items():
            if value is None and name in PRESETS["full"]:
                continue
            problem = _problem(name, value)
            if problem:
                raise ValueError(f"GBDT hyperparameter {name}: must be {problem}, got {value!r}")
        steps = overrides.get("stack_steps")
        return GbdtHyper(**{**overrides, **({"stack_steps": tuple(steps)} if steps is not None else {})})

    def resolved(self, n_windows: int) -> GbdtHyper:
        """The preset's values filled in where not set; ``preset`` names the one used."""
        name = self.preset if self.preset != "auto" else ("cheap" if n_windows > self.cheap_above_windows else "full")
        filled = {k: (PRESETS[name][k] if v is None else v) for k, v in asdict(self).items() if k in PRESETS[name]}
        return GbdtHyper(**{**asdict(self), **filled, "preset": name})

    def lgb_params(self, seed: int) -> dict[str, Any]:
        return {
            "objective": "l1",
            "n_estimators": self.max_rounds,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "subsample": self.subsample,
            "subsample_freq": 1,
            "colsample_bytree": self.colsample_bytree,
            "max_bin": self.max_bin,
            "num_threads": self.num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
            "random_state": seed,
        }


def _is_int(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _is_fraction(v: Any) -> bool:
    return is_number(v) and 0 < v <= 1


def _problem(name: str, v: Any) -> str | None:
    """What ``v`` must be for hyperparameter ``name``; None when it is fine."""
    if name == "preset":
        return None if v in ("auto", *PRESETS) else "auto, full or cheap"
    if name == "stack_steps":
        ok = isinstance(v, list | tuple) and len(v) > 0 and all(_is_int(s, 1) for s in v)
        return None if ok else "a non-empty list of step numbers from 1"
    if name in ("learning_rate", "colsample_bytree", "subsample", "forest_max_features"):
        return None if _is_fraction(v) else "a number in (0, 1]"
    low = {"cheap_above_windows": 0, "max_bin": 2, "num_leaves": 2, "forest_trees": 0}.get(name, 1)
    return None if _is_int(v, low) else f"an integer from {low}"


def train_steps(requested: tuple[int, ...], horizon: int) -> tuple[int, ...]:
    return tuple(sorted({s for s in requested if 1 <= s <= horizon} | {horizon}))


@dataclass(frozen=True)
class Boosted:
    """A booster fitted on the fit part (early-stopped) and its refit on all windows with the best rounds."""

    best_rounds: int
    fit_part: lgb.LGBMRegressor
    refit: lgb.LGBMRegressor


def boost(
    params: dict[str, Any], rows: tuple[np.ndarray, np.ndarray, np.ndarray], y: tuple[np.ndarray, np.ndarray, np.ndarray], patience: int
) -> Boosted:
    """``rows``/``y``: (fit part, validation slice, all windows)."""
    import lightgbm as lgb  # loads only for this type

    model = lgb.LGBMRegressor(**params)
    model.fit(rows[0], y[0], eval_X=(rows[1],), eval_y=(y[1],), eval_metric="l1", callbacks=[lgb.early_stopping(patience, verbose=False)])
    best = max(1, int(model.best_iteration_ or params["n_estimators"]))
    refit = lgb.LGBMRegressor(**{**params, "n_estimators": best})
    refit.fit(rows[2], y[2])
    return Boosted(best, model, refit)


@dataclass(frozen=True)
class Forested:
    """A forest fitted on the fit part (for the validation predictions) and one on all windows."""

    fit_part: ExtraTreesRegressor
    refit: ExtraTreesRegressor


def grow_forest(
    hp: GbdtHyper, seed: int, rows: tuple[np.ndarray, np.ndarray, np.ndarray], y: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> Forested:
    """``rows``/``y``: (fit part, validation slice, all windows); squared error, one thread, deterministic for the seed."""
    from sklearn.ensemble import ExtraTreesRegressor

    def grown(x: np.ndarray, target: np.ndarray) -> ExtraTreesRegressor:
        model = ExtraTreesRegressor(
            n_estimators=hp.forest_trees,
            min_samples_leaf=hp.forest_min_leaf,
            max_features=hp.forest_max_features,
            n_jobs=1,
            random_state=seed,
        )
        return model.fit(x, target)

    return Forested(grown(rows[0], y[0]), grown(rows[2], y[2]))


def split3(a: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return a[:start], a[start:], a


def choose_blend(direct: np.ndarray, stacked1: np.ndarray, base: np.ndarray, truth: np.ndarray, log_mask: np.ndarray) -> np.ndarray:
    """[T] weight of the direct change at step 1 minimising validation MAE in raw units (``direct``, ``stacked1``, ``base`` [n, T])."""
    maes = [np.mean(np.abs(conformal.g_inv(base + a * direct + (1 - a) * stacked1, log_mask) - truth), axis=0) for a in BLEND_GRID]
    out: np.ndarray = BLEND_GRID[np.argmin(np.stack(maes), axis=0)]
    return out


class Gbdt:
    def fit(self, job: FitJob) -> Fitted:
        shape, w = job.shape, job.train_windows
        n = int(w.x.shape[0])
        if n < MIN_WINDOWS:
            raise DataError(f"train data yields only {n} windows; GBDT needs at least {MIN_WINDOWS}")
        from . import gbdt_export as ge  # lightgbm and its converter load only for this type

        hp = GbdtHyper.from_overrides(job.overrides).resolved(n)
        start = validation_split(n)
        with timed() as fit_clock:
            feature_log = conformal.log_targets(job.train, shape.features)
            target_log = feature_log[shape.target_idx]
            features = Features(shape, feature_log)
            lags, tod = features(w.x, w.t)
            base = features.base(lags)  # [n, T] g of the last value
            change = np.where(target_log, np.log1p(np.maximum(w.y, 0.0)), w.y) - base[:, None, :]  # [n, H, T]
            rows1 = split3(direct_rows(lags, tod), start)
            direct = [
                [
                    boost(hp.lgb_params(job.seed + s), rows1, split3(change[:, 0, j], start), hp.early_stopping_rounds)
                    for s in range(hp.seeds or 1)
                ]
                for j in range(shape.n_targets)
            ]
            val_direct = np.stack([ge.direct_change([b.fit_part for b in bs], rows1[1]) for bs in direct], axis=-1)  # [n_val, T]
            val_change = np.repeat(val_direct[:, None, :], shape.horizon, axis=1)
            stacked: list[Boosted] | None = None
            forests: list[Forested] = []
            blend = np.ones(shape.n_targets)
            if shape.horizon > 1:
                steps = train_steps(hp.stack_steps or (), shape.horizon)
                rows_s = stacked_rows(lags, tod, steps)
                cut = start * len(steps)  # window-major rows: the fit part's come first
                idx = np.asarray(steps) - 1
                stacked = [
                    boost(
                        hp.lgb_params(job.seed), split3(rows_s, cut), split3(change[:, idx, j].reshape(-1), cut), hp.early_stopping_rounds
                    )
                    for j in range(shape.n_targets)
                ]
                val_stacked = np.stack([ge.stacked_change(b.fit_part, lags[start:], tod[start:]) for b in stacked], axis=-1)
                blend = choose_blend(val_direct, val_stacked[:, 0], base[start:], w.y[start:, 0], target_log)
                val_change = val_stacked.copy()
                val_change[:, 0] = blend * val_direct + (1 - blend) * val_stacked[:, 0]
                if hp.forest_trees:
                    forests = [grow_forest(hp, job.seed, rows1, split3(change[:, 0, j], start)) for j in range(shape.n_targets)]
                    val_forest = np.stack([np.asarray(f.fit_part.predict(rows1[1])) for f in forests], axis=-1)  # [n_val, T]
            val_pred = conformal.g_inv(base[start:, None, :] + val_change, target_log)
            val_components = None
            if stacked is not None:  # the stacked change with step 1 from the direct boosters, its own, the forest's
                firsts = [val_direct, val_stacked[:, 0]] + ([val_forest] if forests else [])
                changes = np.repeat(val_stacked[None], len(firsts), axis=0)
                changes[:, :, 0] = np.stack(firsts)
                val_components = conformal.g_inv(base[start:, None, :] + changes, target_log)
            offsets = conformal.offsets(val_pred, w.y[start:], target_log, job.quantiles)
            model = ge.GbdtModel(
                shape=shape,
                feature_log=feature_log,
                target_log=target_log,
                direct=[[b.refit for b in bs] for bs in direct],
                stacked=None if stacked is None else [b.refit for b in stacked],
                forest=[f.refit for f in forests] or None,
                blend=blend,
                offsets=offsets,
            )
        rounds = {f"direct_{t}": [b.best_rounds for b in bs] for t, bs in zip(shape.targets, direct, strict=True)}
        if stacked is not None:
            rounds.update({f"stacked_{t}": [b.best_rounds] for t, b in zip(shape.targets, stacked, strict=True)})
        log.info(
            "gbdt_fitted", preset=hp.preset, windows=n, validation_start=start, best_rounds=rounds, seconds=round(fit_clock.seconds, 3)
        )
        with timed() as export_clock:
            model_bytes = ge.build_graph(model).SerializeToString()

        def predict(win: Windows) -> np.ndarray:
            return ge.native_predict(model, features, win.x, win.t)

        return Fitted(
            onnx_bytes=model_bytes,
            predict=predict,
            predict_quantiles=lambda win: conformal.apply(predict(win), offsets, target_log),
            reference="lightgbm.predict on the graph's features",
            hyperparameters={
                **asdict(hp),
                "stack_steps": list(train_steps(hp.stack_steps or (), shape.horizon)) if stacked is not None else [],
                **ge.describe(model),
                "target_mode": "delta_from_last_in_transformed_space",
                "opset": OPSET,
            },
            device="cpu",
            epochs=max(max(r) for r in rounds.values()),
            train_seconds=fit_clock.seconds,
            export_seconds=export_clock.seconds,
            validation=ValidationPredictions(
                start=start,
                y=val_pred.astype(np.float32),
                out_of_sample=True,
                component_names=model.components(),
                components=None if val_components is None else val_components.astype(np.float32),
            ),
        )
