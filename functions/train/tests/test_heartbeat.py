"""The run's heartbeat on MinIO: written at start and on its interval, removed once the run has a marker."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from flts_train import heartbeat


def read(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return doc
    except s3.exceptions.NoSuchKey:
        return None


def poll(what: str, probe: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)  # polling interval of a bounded condition wait


def test_beats_at_start_and_on_its_interval_then_is_removed_with_a_marker(s3: Any, bucket: str) -> None:
    key = "runs/hb-1/heartbeat.json"
    beat = heartbeat.Heartbeat(s3, bucket, "runs/hb-1/", "hb-1", every=0.05).start()
    first = read(s3, bucket, key)
    assert first is not None and first["run_id"] == "hb-1" and first["beat"] == 0 and first["at"].endswith("Z")
    later = poll("three beats", lambda: (doc := read(s3, bucket, key)) and doc["beat"] >= 3 and doc)
    assert later["at"] > first["at"]
    s3.put_object(Bucket=bucket, Key="runs/hb-1/_SUCCESS", Body=b"{}")
    beat.stop()
    assert read(s3, bucket, key) is None


def test_without_a_marker_the_last_heartbeat_stays(s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTBEAT_SECONDS", "60")
    heartbeat.start(s3, (bucket, "runs/hb-2/"), "hb-2")
    heartbeat.stop()
    doc = read(s3, bucket, "runs/hb-2/heartbeat.json")
    assert doc is not None and doc["beat"] == 0


def test_a_bad_interval_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in (("soon", "must be a number"), ("0", "must be > 0")):
        monkeypatch.setenv("HEARTBEAT_SECONDS", raw)
        with pytest.raises(ValueError, match=f"HEARTBEAT_SECONDS {expected}"):
            heartbeat.interval_seconds()
