"""Http: one HTTP request from the worker, checked by status or by an assertion.

Spec (Harness keys): ``url``, ``method`` (GET/POST/PUT/DELETE/PATCH/HEAD/OPTIONS), ``headers``
(``[{key, value}]``), ``requestBody``, ``assertion`` (a condition such as
``httpResponseCode == 200`` or ``<+json.select("status", httpResponseBody)> == "ok"``),
``outputVariables`` (``[{name, type, value}]``: ``value`` is an expression evaluated with
``httpResponseCode``/``httpResponseBody`` available), ``inputVariables`` (kept). Every string is
rendered (``<+...>``) before the request.

Outcome:

- with an ``assertion``: the step passes iff it is true. A false assertion fails with
  Authentication on 401/407, Authorization on 403, otherwise Unknown (``assertion failed: ...``).
- without one: 2xx and 3xx pass (redirects are not followed); 401/407 -> Authentication,
  403 -> Authorization, any other status -> Unknown.
- connection refused, DNS failure, unreachable network, reset -> Connectivity; the step timeout
  (or an httpx timeout) -> Timeout.

Output: ``{httpUrl, httpMethod, httpResponseCode, httpResponseBody, outputVariables}``; the body is
read up to :data:`MAX_BODY_READ` bytes for assertions and outputs and kept up to
:data:`MAX_BODY_OUTPUT` bytes in the output (``httpResponseBodyTruncated: true`` when cut).

The request runs on a helper thread while the calling thread watches the step timeout and
``ctx.cancelled``; on either, the request's sockets are shut down so the helper ends at once.
"""

from __future__ import annotations

import json
import socket
from decimal import Decimal
import threading
from typing import Any, ClassVar

import httpcore
import httpx
from pydantic import field_validator

from orchestrator.model.common import HarnessModel, is_runtime_input
from strategies.classify import classify_exception, classify_http_status
from strategies.errors import ErrorType, StepError
from workers.executors.base import Completed, StepContext
from workers.executors.shell import Deadline, NameTypeValue, ShellVariable, Text, render_text

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
MAX_BODY_READ = 4 * 1024 * 1024
"""Bytes of the response body read (for the assertion and output variables)."""
MAX_BODY_OUTPUT = 256 * 1024
"""Bytes of the response body kept in the step output."""
MESSAGE_BODY_CHARS = 500
POLL_INTERVAL = 0.02


class HttpHeader(HarnessModel):
    key: str
    value: Text | None = None


class HttpSpec(HarnessModel):
    url: Text
    method: str = "GET"
    headers: list[HttpHeader] | None = None
    request_body: Any = None
    """A string (sent as is) or a mapping/list (sent as JSON)."""
    assertion: Text | None = None
    output_variables: list[ShellVariable] | None = None
    input_variables: list[NameTypeValue] | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if "<+" in value:  # a runtime input or expression: checked when the step runs
            return value
        method = value.upper()
        if method not in METHODS:
            raise ValueError(f"method {value!r} is not supported: use one of {', '.join(METHODS)}")
        return method

    @field_validator("assertion")
    @classmethod
    def _assertion_parses(cls, value: str | None) -> str | None:
        """A malformed assertion is reported by ``validate``, not when the request has been sent."""
        if value and value.strip() and not is_runtime_input(value):
            from orchestrator.expressions import parse_condition

            parse_condition(value.strip())  # ConditionSyntaxError is a ValueError: a validation error
        return value


# --------------------------------------------------------------------------- abortable sockets


class _TrackedStream(httpcore.NetworkStream):
    """A network stream whose socket can be shut down from another thread (also after TLS)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None):
        self.inner = self.inner.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)

    def shutdown(self) -> None:
        sock = self.inner.get_extra_info("socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _AbortableBackend(httpcore.NetworkBackend):
    """Wraps httpcore's backend, remembering the streams it opens so :meth:`abort` can end them."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner
        self.streams: list[_TrackedStream] = []
        self.aborted = False
        self.lock = threading.Lock()

    def _track(self, stream: httpcore.NetworkStream) -> _TrackedStream:
        tracked = _TrackedStream(stream)
        with self.lock:
            if self.aborted:
                stream.close()
                raise httpcore.ConnectError("request aborted")
            self.streams.append(tracked)
        return tracked

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return self._track(
            self.inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)
        )

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return self._track(self.inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)

    def abort(self) -> None:
        with self.lock:
            self.aborted = True
            streams = list(self.streams)
        for stream in streams:
            stream.shutdown()


def _abortable_client(timeout: float | None) -> tuple[httpx.Client, _AbortableBackend | None]:
    transport = httpx.HTTPTransport(retries=0)
    backend = None
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if inner is not None:  # httpcore's pool; without it an abort only abandons the helper thread
        backend = _AbortableBackend(inner)
        pool._network_backend = backend
    client = httpx.Client(transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False)
    return client, backend


# --------------------------------------------------------------------------- the executor


class _Response:
    def __init__(self, code: int, reason: str, body: str, truncated: bool) -> None:
        self.code = code
        self.reason = reason
        self.body = body
        self.truncated = truncated


class HttpExecutor:
    """Runs ``Http`` steps with httpx (sync), honouring the step timeout and cancellation."""

    spec_model: ClassVar[type[HarnessModel]] = HttpSpec

    def execute(self, ctx: StepContext) -> Completed:
        spec = HttpSpec.model_validate(ctx.spec)
        if ctx.cancelled.is_set():
            raise StepError(ErrorType.UNKNOWN, "cancelled")
        deadline = Deadline(ctx.timeout)
        url = render_text(spec.url, ctx).strip()
        method = render_text(spec.method, ctx).strip().upper()
        if method not in METHODS:
            raise StepError(ErrorType.UNKNOWN, f"method {method!r} is not supported: use one of {', '.join(METHODS)}")
        headers = [(h.key, render_text(h.value, ctx)) for h in spec.headers or []]
        body = self._body(spec.request_body, ctx)

        response = self._request(ctx, deadline, method, url, headers, body)
        names = {"httpResponseCode": response.code, "httpResponseBody": response.body}
        output: dict[str, Any] = {
            "httpUrl": url,
            "httpMethod": method,
            "httpResponseCode": response.code,
            "httpResponseBody": response.body[:MAX_BODY_OUTPUT],
            "outputVariables": {},
        }
        if response.truncated or len(response.body) > MAX_BODY_OUTPUT:
            output["httpResponseBodyTruncated"] = True

        assertion = (spec.assertion or "").strip()
        failure: StepError | None = None
        if assertion:
            if not self._assert(assertion, ctx, names):
                error_type = classify_http_status(response.code) or ErrorType.UNKNOWN
                failure = StepError(error_type, f"assertion failed: {assertion} (httpResponseCode={response.code})")
        elif not 200 <= response.code < 400:
            error_type = classify_http_status(response.code) or ErrorType.UNKNOWN
            snippet = response.body.strip()[:MESSAGE_BODY_CHARS]
            message = f"HTTP {response.code} {response.reason} from {method} {url}".rstrip()
            failure = StepError(error_type, message + (f": {snippet}" if snippet else ""))
        if failure is not None:
            failure.output = output  # type: ignore[attr-defined]  # for callers that record it
            raise failure

        output["outputVariables"] = {
            var.name: self._output_value(var, ctx, names) for var in spec.output_variables or []
        }
        return Completed(output=output)

    # ------------------------------------------------------------------ pieces

    @staticmethod
    def _body(value: Any, ctx: StepContext) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(ctx.render(value)).encode()
        text = render_text(str(value) if not isinstance(value, str) else value, ctx)
        return text.encode() if text else None

    @staticmethod
    def _assert(assertion: str, ctx: StepContext, names: dict[str, Any]) -> bool:
        from orchestrator.expressions import parse_condition

        try:
            return bool(parse_condition(assertion).evaluate(ctx.resolve, names=names))
        except StepError:
            raise
        except Exception as exc:  # a syntax error, an unresolved expression, bad JSON...
            raise StepError(ErrorType.UNKNOWN, f"assertion could not be evaluated: {assertion}: {exc}") from exc

    @staticmethod
    def _output_value(var: ShellVariable, ctx: StepContext, names: dict[str, Any]) -> Any:
        text = var.value
        if text is None or "<+" not in text:
            return text
        from orchestrator.expressions import ExpressionError, render_value, to_text

        try:
            value = render_value(text, ctx.resolve, names=names)
        except ExpressionError as exc:
            raise StepError(ErrorType.UNKNOWN, f"output variable {var.name}: {exc}") from exc
        if value is None or isinstance(value, str):
            return value
        if (var.type or "String") in ("String", "Secret"):
            return to_text(value)
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return value

    @staticmethod
    def _request(
        ctx: StepContext,
        deadline: Deadline,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
    ) -> _Response:
        try:
            request_url = httpx.URL(url)
        except Exception as exc:
            raise StepError(ErrorType.UNKNOWN, f"invalid url {url!r}: {exc}") from exc
        if request_url.scheme not in ("http", "https"):
            raise StepError(ErrorType.UNKNOWN, f"invalid url {url!r}: only http:// and https:// are supported")

        client, backend = _abortable_client(deadline.remaining())
        result: dict[str, Any] = {}
        done = threading.Event()
        stop = threading.Event()

        def run() -> None:
            try:
                with client, client.stream(method, request_url, headers=headers, content=body) as resp:
                    data = bytearray()
                    truncated = False
                    for chunk in resp.iter_bytes():
                        if stop.is_set():
                            return
                        room = MAX_BODY_READ - len(data)
                        data += chunk[:room]
                        if len(chunk) > room:
                            truncated = True
                            break
                    try:
                        text = bytes(data).decode(resp.encoding or "utf-8", errors="replace")
                    except LookupError:
                        text = bytes(data).decode("utf-8", errors="replace")
                    result["response"] = _Response(resp.status_code, resp.reason_phrase, text, truncated)
            except BaseException as exc:  # handed to the calling thread
                result["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=run, name=f"http-step-{ctx.node_key}", daemon=True)
        worker.start()
        stopped: StepError | None = None
        while not done.is_set():
            if ctx.cancelled.is_set():
                stopped = StepError(ErrorType.UNKNOWN, "cancelled")
            elif deadline.expired():
                stopped = StepError(ErrorType.TIMEOUT, f"{method} {url} timed out after {deadline.timeout:g}s")
            if stopped is not None:
                stop.set()
                if backend is not None:
                    backend.abort()
                worker.join(timeout=1.0)
                raise stopped
            remaining = deadline.remaining()
            done.wait(POLL_INTERVAL if remaining is None else max(0.001, min(POLL_INTERVAL, remaining)))

        if "error" in result:
            exc = result["error"]
            error_type, message = classify_exception(exc)
            if isinstance(exc, httpx.TimeoutException):
                message = f"timed out after {deadline.timeout:g}s: {message}" if deadline.timeout else message
            raise StepError(error_type, f"{method} {url}: {message}") from exc
        return result["response"]
