"""Structured JSON log lines on stderr (one object per line)."""

from __future__ import annotations

import json
import math
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
    try:
        line = json.dumps(record, default=str, allow_nan=False)
    except ValueError:  # NaN/Infinity are not JSON: written as strings, so every reader can parse the line
        line = json.dumps(_finite(record), default=str)
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def info(msg: str, **fields: Any) -> None:
    log("info", msg, **fields)


def warn(msg: str, **fields: Any) -> None:
    log("warn", msg, **fields)


def error(msg: str, **fields: Any) -> None:
    log("error", msg, **fields)


def capture_library_output() -> None:
    """Routes Python ``logging`` records (Prophet, cmdstanpy, botocore) and warnings into JSON lines."""
    import logging
    import warnings

    class _JsonHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                level = "error" if record.levelno >= logging.ERROR else "warn" if record.levelno >= logging.WARNING else "info"
                log(level, "library_log", logger=record.name, text=record.getMessage())
            except Exception:  # never let logging break a run
                pass

    root = logging.getLogger()
    root.handlers[:] = [_JsonHandler()]
    root.setLevel(logging.WARNING)
    for name in ("prophet", "cmdstanpy"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
        lg.setLevel(logging.WARNING)
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "Importing plotly failed": irrelevant here

    def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int, *_: object) -> None:
        log("warn", "python_warning", category=category.__name__, text=str(message), where=f"{filename}:{lineno}")

    warnings.showwarning = _show  # type: ignore[assignment]
