"""Structured JSON log lines on stderr (one object per line)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

_context: dict[str, Any] = {}


def bind(**fields: Any) -> None:
    """Adds fields (for example ``run_id``) to every later log line."""
    _context.update({k: v for k, v in fields.items() if v is not None})


def clear() -> None:
    _context.clear()


def log(level: str, msg: str, **fields: Any) -> None:
    record: dict[str, Any] = {"level": level, "msg": msg, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    record.update(_context)
    record.update(fields)
    sys.stderr.write(json.dumps(record, default=str) + "\n")
    sys.stderr.flush()


def info(msg: str, **fields: Any) -> None:
    log("info", msg, **fields)


def warn(msg: str, **fields: Any) -> None:
    log("warn", msg, **fields)


def error(msg: str, **fields: Any) -> None:
    log("error", msg, **fields)
