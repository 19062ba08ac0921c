"""S3 backend through boto3: one object per key, bounded concurrency for batches.

A ``PutObject`` is atomic on S3, so a crash never leaves a partial object. Batch lookups
(``stat``, ``touch``) run on a pool of ``concurrency`` threads sharing one client whose
connection pool has the same size. ``touch`` copies an object onto itself with replaced
metadata, which refreshes ``LastModified`` (what garbage collection reads).

An endpoint that cannot be reached (refused, timed out), a missing bucket or a 5xx answer,
once botocore's retries are spent, raises :class:`BackendUnavailable` (UNAVAILABLE to
clients). The health probe has a client of its own with short timeouts and one attempt,
so health follows the bucket within a couple of seconds while the data path keeps retrying.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from services.artifacts.backends.base import (
    Backend,
    BackendUnavailable,
    Data,
    ObjectInfo,
    ObjectNotFound,
)

logger = logging.getLogger(__name__)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


#: Error codes that mean the bucket cannot serve now (besides any 5xx status).
_UNAVAILABLE = {"NoSuchBucket", "ServiceUnavailable", "SlowDown", "InternalError"}
#: The probe's client: it must answer within seconds, not after the data path's retries.
PROBE_CONFIG = Config(
    connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1, "mode": "standard"}
)

F = TypeVar("F", bound=Callable[..., Any])


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _NOT_FOUND


def unavailable(error: BaseException) -> BackendUnavailable | None:
    """The :class:`BackendUnavailable` a botocore error stands for, else None."""
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return BackendUnavailable(f"{type(error).__name__}: {error}")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _UNAVAILABLE or status >= 500:
            return BackendUnavailable(f"{code or status}: {error}")
    return None


@contextmanager
def _reachable() -> Iterator[None]:
    """Raise :class:`BackendUnavailable` for a botocore error that means "not now"."""
    try:
        yield
    except (BotoConnectionError, HTTPClientError, ClientError) as error:
        translated = unavailable(error)
        if translated is None:
            raise
        raise translated from error


def _translated(method: F) -> F:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _reachable():
            return method(*args, **kwargs)

    return cast(F, wrapper)


class S3Backend(Backend):
    """Objects under ``prefix`` in ``bucket``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        concurrency: int = 16,
    ) -> None:
        if not bucket:
            raise ValueError("the s3 backend needs a bucket (MREG_S3_BUCKET)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            config=Config(
                max_pool_connections=concurrency, retries={"max_attempts": 5, "mode": "standard"}
            ),
        )
        self._probe_client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region, config=PROBE_CONFIG
        )
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="s3")

    def _key(self, key: str) -> str:
        return self.prefix + key

    @_translated
    def put(self, key: str, parts: Sequence[Data]) -> None:
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(body))

    @_translated
    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _missing(error):
                raise ObjectNotFound(key) from None
            raise
        return response["Body"].read()

    def _head(self, key: str) -> ObjectInfo | None:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return ObjectInfo(key, response["ContentLength"], response["LastModified"].timestamp())

    @_translated
    def stat(self, keys: Sequence[str]) -> list[ObjectInfo | None]:
        if len(keys) <= 1:
            return [self._head(key) for key in keys]
        return list(self._pool.map(self._head, keys))

    def _touch(self, key: str) -> bool:
        full = self._key(key)
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=full,
                CopySource={"Bucket": self.bucket, "Key": full},
                Metadata={"touched": f"{time.time():.3f}"},
                MetadataDirective="REPLACE",
            )
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    @_translated
    def touch(self, keys: Sequence[str]) -> list[bool]:
        if len(keys) <= 1:
            return [self._touch(key) for key in keys]
        return list(self._pool.map(self._touch, keys))

    @_translated
    def delete(self, keys: Iterable[str]) -> None:
        batch: list[dict[str, str]] = []
        for key in keys:
            batch.append({"Key": self._key(key)})
            if len(batch) == 1000:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, batch: list[dict[str, str]]) -> None:
        self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        skip = len(self.prefix)
        with _reachable():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                for obj in page.get("Contents", []):
                    yield ObjectInfo(
                        obj["Key"][skip:], obj["Size"], obj["LastModified"].timestamp()
                    )

    @_translated
    def check_writable(self, key: str) -> None:
        full = self._key(key)
        self._probe_client.put_object(Bucket=self.bucket, Key=full, Body=b"probe")
        self._probe_client.delete_object(Bucket=self.bucket, Key=full)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.client.close()
        self._probe_client.close()
