"""Models trained on a synthetic seasonal series beat persistence on held-out data."""

from __future__ import annotations

import pytest

from conftest import frame_to_series, synthetic_frame
from flts_train.data import Series
from flts_train.spec import Params
from flts_train.train import train_model


def split(s: Series, at: int) -> tuple[Series, Series]:
    return (
        Series(times=s.times[:at], columns=s.columns, values=s.values[:at]),
        Series(times=s.times[at:], columns=s.columns, values=s.values[at:]),
    )


@pytest.mark.parametrize(
    ("model_type", "epochs", "overrides"),
    [
        ("GRU", 10, {"hidden_size": 24}),
        ("LSTM", 10, {"hidden_size": 24}),
        ("GRU", 6, {"hidden_size": 24, "log_volume": False}),  # raw-space targets (no log1p, no exp)
        ("PROPHET", None, None),
    ],
)
def test_model_beats_persistence(model_type: str, epochs: int | None, overrides: dict[str, object] | None) -> None:
    s = frame_to_series(synthetic_frame(1500, step=3600.0, seed=11))
    train, test = split(s, 1200)
    params = Params(window=8, horizon=2, step_seconds=3600.0, gap_tolerance_seconds=5400.0, max_epochs=epochs, seed=3)
    o = train_model(model_type, train, test, params, overrides)
    if overrides and overrides.get("log_volume") is False:
        assert o.fitted.hyperparameters["log1p_features"] == []
    assert o.n_test_windows == 300 - 10 + 1
    for target in ("down", "up"):
        assert o.test[target]["mae"] < 0.95 * o.persistence[target]["mae"], (target, o.test, o.persistence)
        assert o.test[target]["rmse"] < 0.95 * o.persistence[target]["rmse"], (target, o.test, o.persistence)
