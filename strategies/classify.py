"""Error classification: which Harness error type an exception or an HTTP status stands for.

The table (also in ``docs/error-types.md``), checked in this order:

=====================================================================  =================
exception                                                              error type
=====================================================================  =================
:class:`StepError` (and its subclasses such as ``ConnectivityError``)  its own type
``TimeoutError`` (= ``socket.timeout``), ``httpx.TimeoutException``,    Timeout
Celery/billiard ``SoftTimeLimitExceeded`` / ``TimeLimitExceeded``,
``OSError`` with ``ETIMEDOUT``, any class named ``TimeoutError``,
``Timeout`` or ``*TimeoutException`` (redis, requests, ...)
``PermissionError``                                                    Authorization
``ConnectionError`` (refused, reset, aborted, broken pipe),            Connectivity
``socket.gaierror`` / ``socket.herror`` (DNS), ``OSError`` with
``ECONNREFUSED``/``ENETUNREACH``/``EHOSTUNREACH``/``ENETDOWN``/
``EHOSTDOWN``/``ECONNRESET``/``ECONNABORTED``, ``httpx.ConnectError``
and other ``httpx.NetworkError``/``httpx.ProxyError``, any class named
``ConnectionError``/``ConnectError`` (redis, requests, ...)
``httpx.HTTPStatusError``, ``urllib.error.HTTPError``                   by status (below)
``urllib.error.URLError``                                              its ``reason``
anything else                                                          Unknown
=====================================================================  =================

HTTP statuses (:func:`classify_http_status`): 401 and 407 -> Authentication, 403 -> Authorization;
other statuses name no type (a failing one is Unknown).

Celery and httpx are never imported here: their exceptions are recognised by module and class name.
"""

from __future__ import annotations

import errno
import socket

from strategies.errors import ErrorType, StepError

_CONNECTIVITY_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN",
                 "ECONNRESET", "ECONNABORTED")
    if hasattr(errno, name)
)
_TIMEOUT_ERRNOS = frozenset({errno.ETIMEDOUT})

# (module prefix, class name) of exceptions recognised without importing their package.
_TIMEOUT_CLASSES = {
    ("billiard", "SoftTimeLimitExceeded"),
    ("billiard", "TimeLimitExceeded"),
    ("celery", "SoftTimeLimitExceeded"),
    ("celery", "TimeLimitExceeded"),
    ("httpx", "TimeoutException"),
    ("httpcore", "TimeoutException"),
}
_CONNECTIVITY_CLASSES = {
    ("httpx", "NetworkError"),
    ("httpx", "ProxyError"),
    ("httpcore", "NetworkError"),
    ("httpcore", "ProxyError"),
}
# Any class with one of these names, from any library (redis.exceptions.ConnectionError,
# requests.exceptions.Timeout, kombu's OperationalError is deliberately not listed).
_TIMEOUT_NAMES = {"TimeoutError", "Timeout", "TimeoutException", "SoftTimeLimitExceeded",
                  "TimeLimitExceeded"}
_CONNECTIVITY_NAMES = {"ConnectionError", "ConnectError"}


def _mro_matches(exc: BaseException, classes: set[tuple[str, str]], names: set[str]) -> bool:
    for cls in type(exc).__mro__:
        module = (cls.__module__ or "").split(".", 1)[0]
        if (module, cls.__name__) in classes or cls.__name__ in names:
            return True
    return False


def classify_http_status(code: int) -> ErrorType | None:
    """The error type an HTTP status names: 401/407 Authentication, 403 Authorization, else None."""
    if code in (401, 407):
        return ErrorType.AUTHENTICATION
    if code == 403:
        return ErrorType.AUTHORIZATION
    return None


def describe(exc: BaseException) -> str:
    """``"ExcType: message"`` (just the type name when the message is empty)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _http_status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    if isinstance(code, int):
        return code
    code = getattr(exc, "code", None)  # urllib.error.HTTPError
    return code if isinstance(code, int) and 100 <= code <= 599 else None


def _classify_type(exc: BaseException, depth: int = 0) -> ErrorType:
    if isinstance(exc, StepError):
        return exc.error_type
    # Timeout first: requests' ConnectTimeout is both a ConnectionError and a Timeout.
    if isinstance(exc, TimeoutError) or _mro_matches(exc, _TIMEOUT_CLASSES, _TIMEOUT_NAMES):
        return ErrorType.TIMEOUT
    if isinstance(exc, OSError) and exc.errno in _TIMEOUT_ERRNOS:
        return ErrorType.TIMEOUT
    if isinstance(exc, PermissionError):
        return ErrorType.AUTHORIZATION
    status = _http_status_of(exc) if type(exc).__name__ in ("HTTPStatusError", "HTTPError") else None
    if status is not None:
        return classify_http_status(status) or ErrorType.UNKNOWN
    if isinstance(exc, (ConnectionError, socket.gaierror, socket.herror)):
        return ErrorType.CONNECTIVITY
    if isinstance(exc, OSError) and exc.errno in _CONNECTIVITY_ERRNOS:
        return ErrorType.CONNECTIVITY
    if _mro_matches(exc, _CONNECTIVITY_CLASSES, _CONNECTIVITY_NAMES):
        return ErrorType.CONNECTIVITY
    reason = getattr(exc, "reason", None)  # urllib.error.URLError wraps the socket error
    if type(exc).__name__ == "URLError" and isinstance(reason, BaseException) and depth < 3:
        return _classify_type(reason, depth + 1)
    return ErrorType.UNKNOWN


def classify_exception(exc: BaseException) -> tuple[ErrorType, str]:
    """``(error type, message)`` for an exception raised by a step.

    A :class:`StepError` keeps its type and message; anything else is mapped by the table in the
    module docstring and described as ``"ExcType: message"``.
    """
    if isinstance(exc, StepError):
        return exc.error_type, exc.message
    return _classify_type(exc), describe(exc)
