"""A minimal MLflow REST client, standard library only (the trainer image gains no dependency).

What the trainer logs goes through MLflow's tracking API 2.0 (``experiments/get-by-name|create``,
``runs/create``, ``runs/log-batch``, ``runs/set-tag``, ``runs/update``) and the tracking server's
proxied artifact API (``/api/2.0/mlflow-artifacts/artifacts/...``, a server started with
``--serve-artifacts``). Requests are built by pure functions (tested without a server) and sent by a
``Transport`` (urllib by default).
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
# MLflow's limits (mlflow/utils/validation.py): per log-batch request and per value.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
_ARTIFACT_URI = re.compile(r"^mlflow-artifacts:(?://[^/]*)?/*(?P<path>.*?)/*$")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


class MlflowError(Exception):
    """A request MLflow refused or that did not reach it; ``code`` is MLflow's ``error_code`` if any."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None = None
    content_type: str | None = None

    def json(self) -> Any:
        return None if self.body is None else json.loads(self.body)


Transport = Callable[[Request, float], tuple[int, bytes]]


def urllib_transport(req: Request, timeout: float) -> tuple[int, bytes]:
    """Sends ``req``; returns (status, body) for any HTTP answer, raises ``OSError`` when none came."""
    r = urllib.request.Request(req.url, data=req.body, method=req.method)
    if req.content_type:
        r.add_header("Content-Type", req.content_type)
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def base_url(raw: str) -> str:
    """The validated ``MLFLOW_TRACKING_URI``: ``http(s)://host[:port][/path]``, without a trailing slash."""
    value = raw.strip()
    parsed = urllib.parse.urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise MlflowError(f"MLFLOW_TRACKING_URI must be the http(s):// URL of an MLflow tracking server, got {raw!r}")
    return value.rstrip("/")


def safe_key(key: str) -> str:
    """A metric, param or tag key MLflow accepts (letters, digits, ``_ - . /`` and spaces)."""
    return _KEY_UNSAFE.sub("_", key)[:250] or "_"


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def metric(key: str, value: float, step: int, timestamp_ms: int) -> dict[str, Any] | None:
    """A log-batch metric, or None for a value JSON cannot carry (NaN, infinity)."""
    v = float(value)
    if not math.isfinite(v):
        return None
    return {"key": safe_key(key), "value": v, "timestamp": int(timestamp_ms), "step": int(step)}


def param(key: str, value: Any) -> dict[str, str]:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return {"key": safe_key(key), "value": _clip(text, MAX_PARAM_VALUE)}


def tag(key: str, value: Any) -> dict[str, str]:
    return {"key": safe_key(key), "value": _clip(value if isinstance(value, str) else json.dumps(value), MAX_TAG_VALUE)}


def api_request(base: str, endpoint: str, payload: dict[str, Any] | None = None, query: dict[str, str] | None = None) -> Request:
    """A tracking API call: GET with ``query`` when there is no payload, else POST of JSON."""
    url = f"{base}{API}/{endpoint}"
    if payload is None:
        return Request("GET", url + ("?" + urllib.parse.urlencode(query) if query else ""))
    return Request("POST", url, json.dumps(payload, allow_nan=False).encode(), "application/json")


def log_batch_requests(
    base: str,
    run_id: str,
    metrics: list[dict[str, Any]] | None = None,
    params: list[dict[str, str]] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> list[Request]:
    """``runs/log-batch`` requests within MLflow's per-request limits (none when there is nothing to log)."""
    ms, ps, ts = list(metrics or []), list(params or []), list(tags or [])
    out: list[Request] = []
    while ms or ps or ts:
        chunk_p = ps[:MAX_PARAMS_TAGS_PER_BATCH]
        chunk_t = ts[: MAX_PARAMS_TAGS_PER_BATCH - len(chunk_p)]
        chunk_m = ms[: MAX_METRICS_PER_BATCH - len(chunk_p) - len(chunk_t)]
        ps, ts, ms = ps[len(chunk_p) :], ts[len(chunk_t) :], ms[len(chunk_m) :]
        body = {"run_id": run_id, "metrics": chunk_m, "params": chunk_p, "tags": chunk_t}
        out.append(api_request(base, "runs/log-batch", body))
    return out


def artifact_request(base: str, artifact_uri: str, name: str, data: bytes, content_type: str) -> Request:
    """The upload of ``name`` into a run whose artifact root is ``mlflow-artifacts:/...``."""
    match = _ARTIFACT_URI.match(artifact_uri)
    if not match or not match.group("path"):
        raise MlflowError(
            f"the run's artifact location {artifact_uri!r} is not served by the tracking server "
            "(start it with --serve-artifacts); artifacts not logged"
        )
    path = urllib.parse.quote(f"{match.group('path')}/{name}")
    return Request("PUT", f"{base}{ARTIFACTS_API}/{path}", data, content_type)


class Client:
    """Sends requests to one tracking server; every failure raises ``MlflowError``."""

    def __init__(self, base: str, transport: Transport = urllib_transport, timeout: float = 10.0) -> None:
        self.base = base
        self.transport = transport
        self.timeout = timeout

    def send(self, req: Request) -> dict[str, Any]:
        try:
            status, body = self.transport(req, self.timeout)
        except OSError as exc:
            raise MlflowError(f"{req.method} {req.url}: {exc}") from exc
        try:
            doc = json.loads(body) if body.strip() else {}
        except ValueError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        if not 200 <= status < 300:
            code = doc.get("error_code")
            detail = doc.get("message") or body[:300].decode("utf8", "replace")
            raise MlflowError(f"{req.method} {req.url}: HTTP {status} {code or ''} {detail}".strip(), code)
        return doc

    def experiment_id(self, name: str) -> str:
        """The id of the experiment ``name``, created when missing (a concurrent creator is tolerated)."""
        for _ in range(2):
            try:
                doc = self.send(api_request(self.base, "experiments/get-by-name", query={"experiment_name": name}))
                return str(doc["experiment"]["experiment_id"])
            except MlflowError as exc:
                if exc.code != "RESOURCE_DOES_NOT_EXIST":
                    raise
            try:
                return str(self.send(api_request(self.base, "experiments/create", {"name": name}))["experiment_id"])
            except MlflowError as exc:
                if exc.code != "RESOURCE_ALREADY_EXISTS":
                    raise
        raise MlflowError(f"experiment {name!r} could neither be found nor created")

    def create_run(self, experiment_id: str, name: str, start_ms: int, tags: list[dict[str, str]]) -> tuple[str, str]:
        """Returns the new run's (run_id, artifact_uri)."""
        body = {"experiment_id": experiment_id, "run_name": name, "start_time": start_ms, "tags": tags}
        info = self.send(api_request(self.base, "runs/create", body))["run"]["info"]
        return str(info["run_id"]), str(info.get("artifact_uri", ""))

    def log_batch(self, run_id: str, **entities: Any) -> None:
        for req in log_batch_requests(self.base, run_id, **entities):
            self.send(req)

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.send(api_request(self.base, "runs/set-tag", {"run_id": run_id, **tag(key, value)}))

    def update_run(self, run_id: str, status: str, end_ms: int) -> None:
        self.send(api_request(self.base, "runs/update", {"run_id": run_id, "status": status, "end_time": end_ms}))

    def upload(self, artifact_uri: str, name: str, data: bytes, content_type: str) -> None:
        self.send(artifact_request(self.base, artifact_uri, name, data, content_type))
