"""S3 access through boto3; the endpoint is configurable so the same code reads MinIO locally."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class ObjectMissing(FileNotFoundError):
    """The named object (or its bucket) does not exist."""


def endpoint() -> str | None:
    return os.environ.get("FLTS_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL_S3") or None


def client() -> Any:
    ep = endpoint()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    cfg = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
        s3={"addressing_style": "path"} if ep else {},
    )
    return boto3.client("s3", endpoint_url=ep, region_name=region, config=cfg)


def uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def get_bytes(s3: Any, bucket: str, key: str) -> bytes:
    try:
        resp = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"):
            what = "bucket" if code == "NoSuchBucket" else "object"
            raise ObjectMissing(f"{what} not found: {uri(bucket, key)} ({code})") from exc
        raise RuntimeError(f"cannot read {uri(bucket, key)}: {code or exc}") from exc
    return bytes(resp["Body"].read())


def put_bytes(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def put_json(s3: Any, bucket: str, key: str, doc: Any) -> None:
    put_bytes(s3, bucket, key, (json.dumps(doc, indent=2, allow_nan=False) + "\n").encode(), "application/json")
