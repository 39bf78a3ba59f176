"""The bench CLI: CSV in, one JSON summary as the last stdout line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from conftest import synthetic_frame

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_bench_prints_summary_last(tmp_path: Path) -> None:
    df = synthetic_frame(600, step=3600.0, seed=2)
    df.loc[5, "mcs_up"] = np.nan  # raw CSVs have holes: carried forward, not fatal
    df["time"] = df["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    df.iloc[:480].to_csv(tmp_path / "train.csv", index=False)
    df.iloc[480:].to_csv(tmp_path / "test.csv", index=False)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flts_train",
            "bench",
            "--data",
            str(tmp_path / "train.csv"),
            "--test",
            str(tmp_path / "test.csv"),
            "--models",
            "LINEAR,GBDT,ENSEMBLE",
            "--horizon",
            "6",
        ],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["horizon"] == 6 and summary["report_steps"] == [1, 5]
    assert [m["model_type"] for m in summary["models"]] == ["LINEAR", "GBDT", "ENSEMBLE"]
    for m in summary["models"]:
        assert set(m) == {"model_type", "device", "train_seconds", "epochs", "test", "persistence", "quantiles", "steps"}
        assert m["device"] in ("cpu", "cuda") and m["train_seconds"] > 0 and m["quantiles"] == [0.1, 0.5, 0.9]
        for part in ("test", "persistence"):
            assert set(m[part]) == {"down", "up"}
            assert all(set(v) == {"mae", "rmse"} and v["mae"] > 0 and v["rmse"] >= v["mae"] for v in m[part].values())
        for per_step in m["steps"].values():
            assert set(per_step) == {"h1", "h5"}
            assert all(v["mae_ratio"] > 0 and v["rmse_ratio"] > 0 and 0 <= v["coverage"] <= 1 for v in per_step.values())
    assert any(json.loads(line)["msg"] == "bench_model" for line in proc.stderr.splitlines() if line.startswith("{"))
