"""Error classification table (strategies/classify.py)."""

from __future__ import annotations

import errno
import socket
import urllib.error

import httpx
import pytest
from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from strategies.classify import classify_exception, classify_http_status
from strategies.errors import (
    AuthenticationError,
    AuthorizationError,
    ConnectivityError,
    ErrorType,
    PolicyEvaluationError,
    StepError,
    VerificationError,
)

_REQUEST = httpx.Request("GET", "http://example.test/")


class ConnectionError_(Exception):  # noqa: N801 - named like third-party client errors below
    pass


class RedisLikeConnectionError(Exception):
    pass


RedisLikeConnectionError.__name__ = "ConnectionError"  # e.g. redis.exceptions.ConnectionError


class RedisLikeTimeoutError(Exception):
    pass


RedisLikeTimeoutError.__name__ = "TimeoutError"  # e.g. redis.exceptions.TimeoutError


CASES = [
    # StepError and its typed subclasses keep their type
    (StepError("Verification", "smoke test failed"), ErrorType.VERIFICATION),
    (StepError(ErrorType.DELEGATE_RESTART, "lost"), ErrorType.DELEGATE_RESTART),
    (AuthenticationError("bad token"), ErrorType.AUTHENTICATION),
    (AuthorizationError("forbidden"), ErrorType.AUTHORIZATION),
    (ConnectivityError("down"), ErrorType.CONNECTIVITY),
    (VerificationError("metrics regressed"), ErrorType.VERIFICATION),
    (PolicyEvaluationError("denied by OPA"), ErrorType.POLICY_EVALUATION_FAILURE),
    # Connectivity
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), ErrorType.CONNECTIVITY),
    (ConnectionResetError(errno.ECONNRESET, "reset"), ErrorType.CONNECTIVITY),
    (ConnectionError("generic"), ErrorType.CONNECTIVITY),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), ErrorType.CONNECTIVITY),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), ErrorType.CONNECTIVITY),
    (OSError(errno.EHOSTUNREACH, "No route to host"), ErrorType.CONNECTIVITY),
    (OSError(errno.ECONNREFUSED, "refused"), ErrorType.CONNECTIVITY),
    (httpx.ConnectError("All connection attempts failed", request=_REQUEST), ErrorType.CONNECTIVITY),
    (httpx.ReadError("peer closed", request=_REQUEST), ErrorType.CONNECTIVITY),
    (urllib.error.URLError(ConnectionRefusedError(111, "refused")), ErrorType.CONNECTIVITY),
    (RedisLikeConnectionError("Error 111 connecting to localhost:6379"), ErrorType.CONNECTIVITY),
    # Timeout
    (TimeoutError("timed out"), ErrorType.TIMEOUT),
    (socket.timeout("timed out"), ErrorType.TIMEOUT),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), ErrorType.TIMEOUT),
    (httpx.ReadTimeout("read timed out", request=_REQUEST), ErrorType.TIMEOUT),
    (httpx.ConnectTimeout("connect timed out", request=_REQUEST), ErrorType.TIMEOUT),
    (SoftTimeLimitExceeded(), ErrorType.TIMEOUT),
    (TimeLimitExceeded(30), ErrorType.TIMEOUT),
    (RedisLikeTimeoutError("Timeout reading from socket"), ErrorType.TIMEOUT),
    # Authorization / HTTP statuses
    (PermissionError(errno.EACCES, "Permission denied"), ErrorType.AUTHORIZATION),
    (httpx.HTTPStatusError("401", request=_REQUEST, response=httpx.Response(401, request=_REQUEST)),
     ErrorType.AUTHENTICATION),
    (httpx.HTTPStatusError("403", request=_REQUEST, response=httpx.Response(403, request=_REQUEST)),
     ErrorType.AUTHORIZATION),
    (httpx.HTTPStatusError("500", request=_REQUEST, response=httpx.Response(500, request=_REQUEST)),
     ErrorType.UNKNOWN),
    (urllib.error.HTTPError("http://x", 401, "Unauthorized", {}, None), ErrorType.AUTHENTICATION),
    # Everything else
    (ValueError("bad"), ErrorType.UNKNOWN),
    (KeyError("k"), ErrorType.UNKNOWN),
    (FileNotFoundError(errno.ENOENT, "No such file"), ErrorType.UNKNOWN),
    (RuntimeError(), ErrorType.UNKNOWN),
    (ConnectionError_("only the exact class name counts"), ErrorType.UNKNOWN),
]


@pytest.mark.parametrize("exc, expected", CASES, ids=[f"{type(e).__name__}-{i}" for i, (e, _) in enumerate(CASES)])
def test_classify_exception(exc: BaseException, expected: ErrorType) -> None:
    error_type, message = classify_exception(exc)
    assert error_type == expected
    assert isinstance(message, str) and message


def test_messages() -> None:
    assert classify_exception(StepError("Connectivity", "db refused")) == (ErrorType.CONNECTIVITY, "db refused")
    assert classify_exception(ValueError("bad input")) == (ErrorType.UNKNOWN, "ValueError: bad input")
    assert classify_exception(RuntimeError()) == (ErrorType.UNKNOWN, "RuntimeError")


def test_typed_step_errors_are_step_errors() -> None:
    err = AuthorizationError("nope")
    assert isinstance(err, StepError) and err.error_type == ErrorType.AUTHORIZATION and err.message == "nope"
    assert VerificationError().message == "Verification"


def test_celery_reexports_are_the_same_classes() -> None:
    from celery.exceptions import SoftTimeLimitExceeded as CelerySoft
    from celery.exceptions import TimeLimitExceeded as CeleryHard

    assert classify_exception(CelerySoft())[0] == ErrorType.TIMEOUT
    assert classify_exception(CeleryHard())[0] == ErrorType.TIMEOUT


@pytest.mark.parametrize("code, expected", [
    (200, None), (204, None), (302, None), (400, None), (404, None), (500, None), (503, None),
    (401, ErrorType.AUTHENTICATION), (407, ErrorType.AUTHENTICATION), (403, ErrorType.AUTHORIZATION),
])
def test_classify_http_status(code: int, expected: ErrorType | None) -> None:
    assert classify_http_status(code) == expected
