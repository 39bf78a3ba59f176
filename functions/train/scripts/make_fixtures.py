"""Small fixture models for the cross-language tests: test/fixtures/models/{gru,lstm,prophet}/.

Each folder gets model.onnx, model.json (card) and expected.json (fixed input windows x, t and the
Python-side outputs y: PyTorch for GRU/LSTM, Prophet.predict for Prophet).

Run from the repository root:
  python functions/train/scripts/make_fixtures.py
  python functions/train/scripts/make_fixtures.py --only GRU --hidden 64 --out test/fixtures/models/gru64
  python functions/train/scripts/make_fixtures.py --only LINEAR --horizon 30 --out test/fixtures/models/linear30
  python functions/train/scripts/make_fixtures.py --only ENSEMBLE --horizon 30 --out test/fixtures/models/ensemble30
(the second: the production-sized GRU the batch-scoring bench reports beside the small fixture; the third: the
horizon-30 model with quantiles `q` the inference tests and bench serve; expected.json then also holds `q`; the
fourth: an ENSEMBLE over a LINEAR and a GBDT member trained in the same run, which are not written)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "functions" / "train" / "src"))

from flts_train import log  # noqa: E402
from flts_train.card import model_card  # noqa: E402
from flts_train.data import Series, Windows, make_windows, read_csv  # noqa: E402
from flts_train.models.base import Member  # noqa: E402
from flts_train.spec import MODEL_TYPES, Params  # noqa: E402
from flts_train.train import train_model  # noqa: E402

DATA = Path(os.environ.get("FLTS_DATA_DIR", ROOT / "data"))
OUT = ROOT / "test" / "fixtures" / "models"
N_TRAIN = 4000  # rows of PobleSec used for training
N_CASES = 8
SMALL: dict[str, dict[str, Any]] = {"GRU": {"hidden_size": 16}, "LSTM": {"hidden_size": 16}}  # per type; default: none
ENSEMBLE_MEMBERS = ("LINEAR", "GBDT")  # trained first (and not written) when only ENSEMBLE is asked for


def _slice(s: Series, a: int, b: int) -> Series:
    return Series(times=s.times[a:b], columns=s.columns, values=s.values[a:b])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=MODEL_TYPES, help="one model type (default: all)")
    parser.add_argument("--hidden", type=int, help="hidden_size of the recurrent types (default: 16)")
    parser.add_argument("--out", type=Path, help="the folder of the one model (with --only)")
    parser.add_argument("--horizon", type=int, default=1, help="forecast steps (default: 1)")
    args = parser.parse_args()
    if args.out is not None and args.only is None:
        parser.error("--out needs --only")
    types = [args.only] if args.only else list(MODEL_TYPES)
    written = set(types)
    if "ENSEMBLE" in types:  # its members come before it, from this run
        types = [t for t in ENSEMBLE_MEMBERS if t not in types] + types
    full = read_csv(str(DATA / "PobleSec.csv"))
    train, test = _slice(full, 0, N_TRAIN), _slice(full, N_TRAIN, N_TRAIN + 600)
    params = Params(window=10, horizon=args.horizon, max_epochs=3, seed=7)
    config_hash = hashlib.sha256(f"flts fixture: PobleSec rows 0..4000, window 10, horizon {args.horizon}".encode()).hexdigest()
    claim = {
        "bucket": "processed-data",
        "object_key": f"PobleSec/{config_hash}/train.parquet",
        "test_object_key": f"PobleSec/{config_hash}/test.parquet",
        "config_hash": config_hash,
        "identifier": "PobleSec",
        "v": 1,
        "size": 0,
    }
    members: list[Member] = []
    for model_type in types:
        hyper = dict(SMALL.get(model_type, {}))
        if args.hidden is not None and "hidden_size" in hyper:
            hyper["hidden_size"] = args.hidden
        ensemble_of = tuple(m for m in members if m.model_type in ENSEMBLE_MEMBERS) if model_type == "ENSEMBLE" else ()
        o = train_model(model_type, train, test, params, hyper, members=ensemble_of)
        w = make_windows(test, o.shape, params.gap_tolerance_seconds)
        pick = np.linspace(0, w.x.shape[0] - 1, N_CASES).round().astype(int)
        x = w.x[pick].astype(np.float32)
        t = w.t[pick].astype(np.float64)
        picked = Windows(x=x.astype(np.float64), t=t, y=w.y[pick], last=w.last[pick])
        y = o.fitted.predict(picked)
        q = o.fitted.predict_quantiles(picked)
        run_id = f"fixture-{model_type.lower()}"
        fit_s, export_s = o.fitted.train_seconds, o.fitted.export_seconds
        card = model_card(
            o,
            run_id=run_id,
            identifier="PobleSec",
            config_hash=config_hash,
            training_data=claim,
            params=params,
            timings={"load_seconds": 0.0, "train_seconds": fit_s, "export_seconds": export_s, "total_seconds": fit_s + export_s},
        )
        members.append(Member(run_id, model_type, o.fitted.onnx_bytes, card, o.fitted.validation))
        if model_type not in written:
            continue
        expected = {
            "model_type": model_type,
            "source": o.fitted.reference,
            "shapes": {"x": list(x.shape), "t": list(t.shape), "y": list(y.shape)},
            "x": x.tolist(),
            "t": t.tolist(),
            "y": np.asarray(y, dtype=np.float64).tolist(),
        }
        expected["shapes"]["q"] = list(q.shape)
        expected["q"] = np.asarray(q, dtype=np.float64).tolist()
        d = args.out if args.out is not None else OUT / model_type.lower()
        d.mkdir(parents=True, exist_ok=True)
        (d / "model.onnx").write_bytes(o.fitted.onnx_bytes)
        (d / "model.json").write_text(json.dumps(card, indent=2) + "\n")
        (d / "expected.json").write_text(json.dumps(expected) + "\n")
        log.info("fixture_written", model_type=model_type, dir=str(d), onnx_bytes=len(o.fitted.onnx_bytes))


if __name__ == "__main__":
    main()
