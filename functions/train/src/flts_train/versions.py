"""Versions of the libraries that produced an artifact."""

from __future__ import annotations

import platform
from importlib import metadata


def library_versions() -> dict[str, str]:
    out: dict[str, str] = {"python": platform.python_version()}
    for dist in ("torch", "prophet", "cmdstanpy", "onnx", "onnxscript", "onnxruntime", "numpy", "pandas", "pyarrow", "boto3"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
