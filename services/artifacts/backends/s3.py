"""S3 backend through boto3: one object per key, bounded concurrency for batches.

A ``PutObject`` is atomic on S3, so a crash never leaves a partial object. Batch lookups
(``stat``, ``touch``) run on a pool of ``concurrency`` threads sharing one client whose
connection pool has the same size. ``touch`` copies an object onto itself with replaced
metadata, which refreshes ``LastModified`` (what garbage collection reads).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from services.artifacts.backends.base import Backend, Data, ObjectInfo, ObjectNotFound

logger = logging.getLogger(__name__)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _NOT_FOUND


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
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="s3")

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put(self, key: str, parts: Sequence[Data]) -> None:
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(body))

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

    def touch(self, keys: Sequence[str]) -> list[bool]:
        if len(keys) <= 1:
            return [self._touch(key) for key in keys]
        return list(self._pool.map(self._touch, keys))

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
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for obj in page.get("Contents", []):
                yield ObjectInfo(obj["Key"][skip:], obj["Size"], obj["LastModified"].timestamp())

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.client.close()
