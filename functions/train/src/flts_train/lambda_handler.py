"""AWS Lambda entry point (container image): the event is the job spec."""

from __future__ import annotations

import json
from typing import Any

from . import log
from .runner import run_job

SAFETY_MARGIN_SECONDS = 90.0


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Runs the job. A job error is reported through ``_FAILED`` and a FAILED result (no retry storm);
    only a failure to write ``_FAILED`` raises, so Lambda records the invocation as failed."""
    log.capture_library_output()
    spec = event
    if isinstance(event, str):
        spec = json.loads(event)
    elif isinstance(event, dict) and "job" in event and "run_id" not in event:
        spec = event["job"]
    budget = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        budget = max(10.0, context.get_remaining_time_in_millis() / 1000.0 - SAFETY_MARGIN_SECONDS)
    return run_job(spec, time_budget_seconds=budget).to_dict()
