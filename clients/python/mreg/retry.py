"""Retries of transient failures, bounded by the call's deadline."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from mreg.errors import MregError, from_rpc_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Codes worth retrying: the server was unreachable, or a conflict that may clear.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED})


def call_with_retry(
    call: Callable[[float], T],
    *,
    deadline: float,
    initial_backoff: float = 0.1,
    max_backoff: float = 2.0,
    max_attempts: int = 6,
    retry_on: frozenset[grpc.StatusCode] = TRANSIENT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``call(timeout)`` until it succeeds, fails for good, ``deadline`` seconds pass,
    or ``max_attempts`` calls were made.

    ``call`` gets the time left as its timeout. Transient failures are retried with
    exponential backoff and full jitter; the last error is raised as a typed
    :class:`~mreg.errors.MregError`.
    """
    end = clock() + deadline
    backoff = initial_backoff
    attempt = 0
    while True:
        attempt += 1
        left = end - clock()
        try:
            return call(max(left, 0.001))
        except grpc.RpcError as error:
            typed: MregError = from_rpc_error(error)
        left = end - clock()
        if typed.code not in retry_on or left <= 0 or attempt >= max_attempts:
            raise typed from None
        pause = min(random.uniform(0, backoff), left)
        logger.debug("attempt %d failed with %s; retrying in %.2fs", attempt, typed.code, pause)
        sleep(pause)
        backoff = min(backoff * 2, max_backoff)
