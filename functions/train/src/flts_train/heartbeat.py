"""The run's lease: ``runs/<run_id>/heartbeat.json`` rewritten at start and every HEARTBEAT_SECONDS.

A background thread beats while the job runs; the sweeper and train-dispatch
(functions/sweeper/lease.ts) take a run whose heartbeat stopped for RUN_LEASE_SECONDS for dead.
Once the run has its marker the heartbeat is removed; without a marker it stays, as the last sign of life.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Any

from . import log, s3io


def interval_seconds() -> float:
    raw = os.environ.get("HEARTBEAT_SECONDS", "").strip() or "30"
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"HEARTBEAT_SECONDS must be a number of seconds, got '{raw}'") from None
    if not value > 0:
        raise ValueError(f"HEARTBEAT_SECONDS must be > 0, got {raw}")
    return value


class Heartbeat:
    def __init__(self, s3: Any, bucket: str, prefix: str, run_id: str, every: float) -> None:
        self.s3, self.key, self.run_id, self.every = s3, prefix + "heartbeat.json", run_id, every
        self.bucket = bucket
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flts-heartbeat", daemon=True)

    def beat(self) -> None:
        at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            s3io.put_json(self.s3, self.bucket, self.key, {"run_id": self.run_id, "at": at, "beat": self.beats, "pid": os.getpid()})
            self.beats += 1
        except Exception as exc:  # a missed beat is not a failed run; the lease tolerates several
            log.warn("heartbeat_failed", error=f"{type(exc).__name__}: {exc}")

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def start(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        prefix = self.key[: -len("heartbeat.json")]
        try:
            if any(_exists(self.s3, self.bucket, prefix + m) for m in ("_SUCCESS", "_FAILED")):
                self.s3.delete_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:  # a leftover heartbeat of a finished run is harmless
            log.warn("heartbeat_cleanup_failed", error=f"{type(exc).__name__}: {exc}")


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


_current: Heartbeat | None = None


def start(s3: Any, dest: tuple[str, str] | None, run_id: str | None) -> None:
    """Starts beating for the job (nothing when the spec names no artifacts prefix)."""
    global _current
    stop()
    if dest is not None and run_id:
        _current = Heartbeat(s3, dest[0], dest[1], run_id, interval_seconds()).start()


def stop() -> None:
    global _current
    if _current is not None:
        _current.stop()
        _current = None
