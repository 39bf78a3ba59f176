"""What train_model checks and reports beyond ``y``: the ``q`` output, validation predictions, per-step and interval
metrics, and the card / metrics.json / validation.npz the runner writes from them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from flts_train import metrics, train
from flts_train.card import metrics_doc, model_card, validation_npz
from flts_train.data import Series, read_csv
from flts_train.members import parse_validation
from flts_train.models import STRATEGIES
from flts_train.models.base import FitJob, Fitted, ValidationPredictions
from flts_train.models.linear_strategy import Linear
from flts_train.spec import Params

POBLESEC = Path(__file__).resolve().parents[3] / "data" / "PobleSec.csv"
PARAMS = Params(horizon=4, quantiles=(0.1, 0.5, 0.9))


@pytest.fixture(scope="module")
def split() -> tuple[Series, Series]:
    s = read_csv(str(POBLESEC))

    def rows(a: int, b: int) -> Series:
        return Series(times=s.times[a:b], columns=s.columns, values=s.values[a:b])

    return rows(0, 2000), rows(2000, 2600)


def test_per_step_metrics() -> None:
    truth = np.zeros((2, 3, 1))
    pred = np.array([[[1.0], [2.0], [-3.0]], [[1.0], [-4.0], [3.0]]])
    m = metrics.per_step(pred, truth, ("down",))
    assert m["down"]["mae"] == [1.0, 3.0, 3.0]
    assert m["down"]["rmse"] == pytest.approx([1.0, np.sqrt(10.0), 3.0])


def test_interval_coverage_and_pinball() -> None:
    truth = np.array([[[0.0]], [[5.0]], [[20.0]], [[-1.0]]])  # [n=4, h=1, k=1]
    q = np.broadcast_to(np.array([0.0, 5.0, 10.0]), (4, 1, 1, 3))
    m = metrics.intervals(q, truth, (0.1, 0.5, 0.9), ("down",))["down"]
    assert m["levels"] == [0.1, 0.9] and m["coverage"] == 0.5 and m["coverage_per_step"] == [0.5]
    # pinball per level 0.1/0.5/0.9 at q 0/5/10 -- truth 0: 0 + 2.5 + 1; 5: 0.5 + 0 + 0.5; 20: 2 + 7.5 + 9; -1: 0.9 + 3 + 1.1
    want = np.mean([3.5 / 3, 1.0 / 3, 18.5 / 3, 5.0 / 3])
    assert m["pinball"] == pytest.approx(want)
    one = metrics.intervals(q[..., 1:2], truth, (0.5,), ("down",))["down"]
    assert one["coverage"] is None and one["pinball"] == pytest.approx(np.mean([2.5, 0.0, 7.5, 3.0]))


def test_linear_outcome_reports_quantiles_validation_and_per_step_metrics(split: tuple[Series, Series]) -> None:
    trn, tst = split
    o = train.train_model("LINEAR", trn, tst, PARAMS)
    assert o.quantiles == (0.1, 0.5, 0.9)
    assert set(o.per_step) == {"down", "up"} and len(o.per_step["down"]["mae"]) == 4
    # the pooled MAE is the mean of the per-step MAEs
    assert np.mean(o.per_step["up"]["mae"]) == pytest.approx(o.test["up"]["mae"])
    assert len(o.persistence_per_step["down"]["rmse"]) == 4
    assert 0.5 < o.intervals["down"]["coverage"] < 1.0 and o.intervals["up"]["pinball"] > 0
    doc = metrics_doc(o)
    assert {"per_step", "persistence_per_step", "intervals"} <= set(doc)
    card = model_card(o, run_id="r", identifier="i", config_hash="0" * 64, training_data={}, params=PARAMS, timings={})
    v = o.fitted.validation
    assert v is not None and card["quantiles"] == [0.1, 0.5, 0.9]
    assert card["validation"] == {"n_windows": v.y.shape[0], "out_of_sample": v.out_of_sample}
    back = parse_validation(validation_npz(v), "validation.npz")
    assert back.start == v.start and back.out_of_sample == v.out_of_sample
    np.testing.assert_array_equal(back.y, v.y.astype(np.float32))


class Altered:
    """LINEAR with its Fitted changed, to exercise train_model's refusals."""

    def __init__(self, change: Any) -> None:
        self.change = change

    def fit(self, job: FitJob) -> Fitted:
        fitted = Linear().fit(job)
        changed: Fitted = self.change(fitted)
        return changed


def run_altered(monkeypatch: pytest.MonkeyPatch, split: tuple[Series, Series], change: Any, params: Params = PARAMS) -> None:
    monkeypatch.setitem(STRATEGIES, "LINEAR", Altered(change))
    train.train_model("LINEAR", *split, params)


def test_a_graph_without_q_is_refused(monkeypatch: pytest.MonkeyPatch, split: tuple[Series, Series]) -> None:
    def drop_q(f: Fitted) -> Fitted:
        model = onnx.load_from_string(f.onnx_bytes)
        kept = [o for o in model.graph.output if o.name != "q"]
        del model.graph.output[:]
        model.graph.output.extend(kept)
        return dataclasses.replace(f, onnx_bytes=model.SerializeToString())

    with pytest.raises(RuntimeError, match=r"LINEAR graph has no output q \(outputs: y, y_plain, y_tod\)"):
        run_altered(monkeypatch, split, drop_q)


def test_q_of_the_wrong_shape_is_refused(monkeypatch: pytest.MonkeyPatch, split: tuple[Series, Series]) -> None:
    class ThreeLevels:
        """Ignores the job's levels: always exports three."""

        def fit(self, job: FitJob) -> Fitted:
            return Linear().fit(dataclasses.replace(job, quantiles=(0.1, 0.5, 0.9)))

    monkeypatch.setitem(STRATEGIES, "LINEAR", ThreeLevels())
    with pytest.raises(RuntimeError, match=r"output q has shape \[\d+, 4, 2, 3\], expected \[\d+, 4, 2, 2\]"):
        train.train_model("LINEAR", *split, dataclasses.replace(PARAMS, quantiles=(0.1, 0.9)))


def test_q_differing_from_the_native_quantiles_is_refused(monkeypatch: pytest.MonkeyPatch, split: tuple[Series, Series]) -> None:
    def shifted(f: Fitted) -> Fitted:
        native = f.predict_quantiles
        assert native is not None
        return dataclasses.replace(f, predict_quantiles=lambda w: native(w) * 1.01)

    with pytest.raises(RuntimeError, match="ONNX output q differs from the native model"):
        run_altered(monkeypatch, split, shifted)


def test_non_finite_native_quantiles_are_refused(monkeypatch: pytest.MonkeyPatch, split: tuple[Series, Series]) -> None:
    def poisoned(f: Fitted) -> Fitted:
        native = f.predict_quantiles
        assert native is not None

        def q(w: Any) -> np.ndarray:
            out = native(w).copy()
            out[0, 1, 1, 2] = np.inf
            return out

        return dataclasses.replace(f, predict_quantiles=q)

    with pytest.raises(RuntimeError, match=r"quantiles \(native model\) hold 1 non-finite value\(s\) .*up@0\.9 1"):
        run_altered(monkeypatch, split, poisoned)


def test_validation_predictions_must_cover_the_tail(monkeypatch: pytest.MonkeyPatch, split: tuple[Series, Series]) -> None:
    def short(f: Fitted) -> Fitted:
        v = f.validation
        assert v is not None
        return dataclasses.replace(f, validation=ValidationPredictions(v.start, v.y[1:], v.out_of_sample))

    with pytest.raises(RuntimeError, match="do not cover the last train windows"):
        run_altered(monkeypatch, split, short)
