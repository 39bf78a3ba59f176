"""Tabular input (Parquet from the preprocess stage, or CSV for the bench) and sliding windows."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .finite import FLOAT32_MAX
from .shape import Shape

VALIDATION_FRACTION = 0.15


class DataError(ValueError):
    """Input data that cannot be trained on."""


def validation_split(n_windows: int, fraction: float = VALIDATION_FRACTION) -> int:
    """Index of the first validation window: the last ``max(1, round(fraction·n))`` train windows are held out."""
    if n_windows < 2:
        raise DataError(f"{n_windows} train window(s) cannot be split into a fit part and a validation slice")
    return n_windows - min(n_windows - 1, max(1, round(n_windows * fraction)))


@dataclass(frozen=True)
class Series:
    """One time-ordered table: ``times`` in Unix seconds (float64), ``values`` [n, n_columns] float64."""

    times: np.ndarray
    columns: tuple[str, ...]
    values: np.ndarray

    def select(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        idx = [self.columns.index(n) for n in names]
        return self.values[:, idx]

    def __len__(self) -> int:
        return int(self.times.shape[0])


def _times_to_seconds(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(col):
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = col.astype("datetime64[ns]").astype("int64").to_numpy()
        return ns.astype(np.float64) / 1e9
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=np.float64)
    parsed = pd.to_datetime(col, utc=True, errors="raise").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]").astype("int64").to_numpy().astype(np.float64) / 1e9


def frame_to_series(df: pd.DataFrame, source: str) -> Series:
    if "time" not in df.columns:
        raise DataError(f"{source}: column 'time' is missing (columns: {', '.join(map(str, df.columns))})")
    if len(df) == 0:
        raise DataError(f"{source}: no rows")
    times = _times_to_seconds(df["time"])
    numeric = [c for c in df.columns if c != "time" and pd.api.types.is_numeric_dtype(df[c])]
    values = df[numeric].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(times)):
        raise DataError(f"{source}: column 'time' has missing values")
    if np.any(np.diff(times) <= 0):
        raise DataError(f"{source}: column 'time' is not strictly increasing")
    bad = ~np.isfinite(values)
    if bad.any():
        cols = sorted({numeric[j] for j in np.nonzero(bad)[1]})
        raise DataError(f"{source}: NaN or infinite values in {', '.join(cols)}")
    huge = np.abs(values) > FLOAT32_MAX
    if huge.any():
        row, j = (int(v[0]) for v in np.nonzero(huge))
        raise DataError(f"{source}: column '{numeric[j]}' holds {values[row, j]:g} at row {row + 1}, beyond the float32 range models take")
    return Series(times=times, columns=tuple(str(c) for c in numeric), values=values)


def read_parquet_bytes(data: bytes, source: str) -> Series:
    try:
        table: pa.Table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types
        raise DataError(f"{source}: not a readable Parquet file ({exc})") from exc
    return frame_to_series(table.to_pandas(), source)


def read_csv(path: str, fill_nan: bool = True) -> Series:
    """A raw CSV (bench only). Missing values are carried forward (then backward) as the preprocess does."""
    df = pd.read_csv(path)
    if "time" in df.columns and not pd.api.types.is_numeric_dtype(df["time"]):
        df["time"] = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None)
    if fill_nan:
        cols = [c for c in df.columns if c != "time"]
        df[cols] = df[cols].ffill().bfill().fillna(0.0)
    return frame_to_series(df, path)


def resolve_columns(series: Series, features: tuple[str, ...] | None, targets: tuple[str, ...]) -> tuple[str, ...]:
    """Feature list: the given one, or every numeric column except ``time`` in table order."""
    cols = series.columns
    for t in targets:
        if t not in cols:
            raise DataError(f"target column '{t}' is not in the data (columns: {', '.join(cols)})")
    if features is None:
        return cols
    for f in features:
        if f not in cols:
            raise DataError(f"feature column '{f}' is not in the data (columns: {', '.join(cols)})")
    return tuple(features)


def window_starts(times: np.ndarray, window: int, horizon: int, gap_tolerance: float) -> np.ndarray:
    """Start indices i such that rows i .. i+window+horizon-1 contain no gap larger than the tolerance."""
    n = times.shape[0]
    span = window + horizon
    if n < span:
        return np.zeros(0, dtype=np.int64)
    gaps = (np.diff(times) > gap_tolerance).astype(np.int64)
    csum = np.concatenate([[0], np.cumsum(gaps)])
    starts = np.arange(0, n - span + 1)
    # number of gaps between row s and row s+span-1 = csum[s+span-1] - csum[s]
    ok = (csum[starts + span - 1] - csum[starts]) == 0
    picked: np.ndarray = starts[ok]
    return picked


@dataclass(frozen=True)
class Windows:
    x: np.ndarray  # [n, window, n_features] float64 raw
    t: np.ndarray  # [n, horizon] float64 unix seconds of the forecast steps
    y: np.ndarray  # [n, horizon, n_targets] float64 raw
    last: np.ndarray  # [n, n_targets] last observed target values (persistence)


def make_windows(series: Series, shape: Shape, gap_tolerance: float) -> Windows:
    starts = window_starts(series.times, shape.window, shape.horizon, gap_tolerance)
    feats = series.select(shape.features)
    targs = series.select(shape.targets)
    xi = starts[:, None] + np.arange(shape.window)[None, :]
    yi = starts[:, None] + shape.window + np.arange(shape.horizon)[None, :]
    x = feats[xi]
    y = targs[yi]
    t = series.times[yi]
    last = targs[starts + shape.window - 1]
    return Windows(x=x, t=t, y=y, last=last)
