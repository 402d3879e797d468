"""Http executor against a real HTTP server on 127.0.0.1 (started in a thread)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from strategies.errors import ErrorType, StepError
from workers.executors.base import Completed, StepContext
from workers.executors.http import HttpExecutor, HttpSpec

PAYLOAD = {"data": {"apiUrl": "http://example.test/api", "content": [{"status": "Success"}, {"status": "Failed"}],
                    "count": 2}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json", extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path
        if path == "/ok":
            self._send(200, json.dumps(PAYLOAD).encode())
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, f"status {code} body".encode(), "text/plain")
        elif path == "/echo":
            self._send(200, json.dumps({"method": self.command, "body": body.decode(),
                                        "headers": {k.lower(): v for k, v in self.headers.items()}}).encode())
        elif path == "/redirect":
            self._send(302, b"", extra={"Location": "/ok"})
        elif path.startswith("/slow"):
            time.sleep(5)
            self._send(200, b"late")
        else:
            self._send(404, b"not found", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def make_ctx(spec: dict[str, Any], timeout: float | None = 10, values: dict[str, Any] | None = None) -> StepContext:
    values = values or {}
    return StepContext(
        run_id="run1", node_key="stage.http", attempt=1, step_type="Http", spec=spec, timeout=timeout,
        render=lambda obj: obj, resolve=lambda body: values[body],
    )


def run(spec: dict[str, Any], **kw: Any) -> dict[str, Any]:
    outcome = HttpExecutor().execute(make_ctx(spec, **kw))
    assert isinstance(outcome, Completed)
    return outcome.output


def fail(spec: dict[str, Any], **kw: Any) -> StepError:
    with pytest.raises(StepError) as info:
        HttpExecutor().execute(make_ctx(spec, **kw))
    return info.value


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- spec


def test_spec_method_validation_and_kept_keys() -> None:
    spec = HttpSpec.model_validate({"url": "http://x", "method": "post", "inputVariables": [],
                                    "delegateSelectors": ["d"], "certificate": ""})
    assert spec.method == "POST"
    assert spec.model_dump()["delegateSelectors"] == ["d"]
    assert HttpSpec.model_validate({"url": "http://x", "method": "<+input>"}).method == "<+input>"
    with pytest.raises(ValidationError, match="not supported"):
        HttpSpec.model_validate({"url": "http://x", "method": "FETCH"})


# --------------------------------------------------------------------------- status handling


def test_200_without_assertion_passes(server: str) -> None:
    out = run({"url": f"{server}/ok", "method": "GET"})
    assert out["httpResponseCode"] == 200
    assert json.loads(out["httpResponseBody"]) == PAYLOAD
    assert out["outputVariables"] == {}
    assert out["httpMethod"] == "GET"


def test_redirect_is_not_followed_and_passes(server: str) -> None:
    assert run({"url": f"{server}/redirect", "method": "GET"})["httpResponseCode"] == 302


@pytest.mark.parametrize("code, error_type", [
    (401, ErrorType.AUTHENTICATION),
    (403, ErrorType.AUTHORIZATION),
    (500, ErrorType.UNKNOWN),
    (404, ErrorType.UNKNOWN),
])
def test_failing_status_is_classified(server: str, code: int, error_type: ErrorType) -> None:
    err = fail({"url": f"{server}/status/{code}", "method": "GET"})
    assert err.error_type == error_type
    assert f"HTTP {code}" in err.message
    assert err.output["httpResponseCode"] == code  # type: ignore[attr-defined]


def test_method_headers_and_body_are_sent_rendered(server: str) -> None:
    out = run({
        "url": f"{server}/echo",
        "method": "PUT",
        "headers": [{"key": "X-Api-Key", "value": "<+secrets.token>"}, {"key": "Content-Type", "value": "text/plain"}],
        "requestBody": '{"tag": "<+pipeline.variables.tag>"}',
    }, values={"secrets.token": "s3cr3t", "pipeline.variables.tag": "v1.2"})
    echoed = json.loads(out["httpResponseBody"])
    assert echoed["method"] == "PUT"
    assert echoed["headers"]["x-api-key"] == "s3cr3t"
    assert json.loads(echoed["body"]) == {"tag": "v1.2"}


def test_head_request(server: str) -> None:
    out = run({"url": f"{server}/ok", "method": "HEAD"})
    assert out["httpResponseCode"] == 200 and out["httpResponseBody"] == ""


# --------------------------------------------------------------------------- assertions and outputs


def test_assertion_true_passes(server: str) -> None:
    out = run({"url": f"{server}/ok", "method": "GET", "assertion": "httpResponseCode == 200"})
    assert out["httpResponseCode"] == 200


def test_assertion_false_fails_unknown(server: str) -> None:
    err = fail({"url": f"{server}/ok", "method": "GET", "assertion": "httpResponseCode == 201"})
    assert err.error_type == ErrorType.UNKNOWN
    assert err.message.startswith("assertion failed: httpResponseCode == 201")


def test_assertion_decides_even_for_error_statuses(server: str) -> None:
    # A step that expects the 500 passes; one that asserts 200 on a 401 fails as Authentication.
    run({"url": f"{server}/status/500", "method": "GET", "assertion": "httpResponseCode == 500"})
    err = fail({"url": f"{server}/status/401", "method": "GET", "assertion": "httpResponseCode == 200"})
    assert err.error_type == ErrorType.AUTHENTICATION


def test_assertion_with_json_select(server: str) -> None:
    spec = {"url": f"{server}/ok", "method": "POST",
            "assertion": '<+json.select("data.content[0].status",httpResponseBody)>==\'Success\' || '
                         '<+json.select("data.content[0].status",httpResponseBody)>==\'IgnoreFailed\''}
    run(spec)
    spec["assertion"] = '<+json.select("data.content[1].status", httpResponseBody)> == "Success"'
    assert "assertion failed" in fail(spec).message


def test_output_variables_via_json_select_and_json_object(server: str) -> None:
    out = run({
        "url": f"{server}/ok", "method": "GET",
        "outputVariables": [
            {"name": "lastStatus", "type": "String", "value": '<+json.select("data.content[0].status",httpResponseBody)>'},
            {"name": "apiUrl", "type": "String", "value": "<+json.object(httpResponseBody).data.apiUrl>"},
            {"name": "code", "type": "String", "value": "<+httpResponseCode>"},
        ],
    })
    assert out["outputVariables"] == {"lastStatus": "Success", "apiUrl": "http://example.test/api", "code": "200"}


# --------------------------------------------------------------------------- transport failures


def test_connection_refused_is_connectivity() -> None:
    err = fail({"url": f"http://127.0.0.1:{closed_port()}/x", "method": "GET"})
    assert err.error_type == ErrorType.CONNECTIVITY


def test_dns_failure_is_connectivity() -> None:
    err = fail({"url": "http://no-such-host.invalid/x", "method": "GET"}, timeout=10)
    assert err.error_type == ErrorType.CONNECTIVITY


def test_timeout(server: str) -> None:
    start = time.monotonic()
    err = fail({"url": f"{server}/slow", "method": "GET"}, timeout=0.5)
    assert err.error_type == ErrorType.TIMEOUT
    assert time.monotonic() - start < 2


def test_cancellation_stops_the_request(server: str) -> None:
    ctx = make_ctx({"url": f"{server}/slow", "method": "GET"}, timeout=30)
    threading.Timer(0.3, ctx.cancelled.set).start()
    start = time.monotonic()
    with pytest.raises(StepError) as info:
        HttpExecutor().execute(ctx)
    assert info.value.message == "cancelled"
    assert time.monotonic() - start < 2


def test_invalid_url_scheme() -> None:
    err = fail({"url": "ftp://127.0.0.1/x", "method": "GET"})
    assert err.error_type == ErrorType.UNKNOWN and "http://" in err.message


# --------------------------------------------------------------------------- expression integration


def test_malformed_assertion_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="invalid condition"):
        HttpSpec.model_validate({"url": "http://x", "method": "GET", "assertion": "httpResponseCode =="})
    HttpSpec.model_validate({"url": "http://x", "method": "GET", "assertion": "<+input>"})


def test_assertion_with_expression_syntax_for_the_code(server: str) -> None:
    run({"url": f"{server}/ok", "method": "GET", "assertion": "<+httpResponseCode> == 200"})
    spec = {"url": f"{server}/ok", "method": "GET",
            "assertion": '<+json.object(httpResponseBody).data.count> > 1 && httpResponseCode != 500'}
    run(spec)


def test_output_variable_types(server: str) -> None:
    out = run({
        "url": f"{server}/ok", "method": "GET",
        "outputVariables": [
            {"name": "count", "type": "String", "value": "<+json.object(httpResponseBody).data.count>"},
            {"name": "countNumber", "type": "Number", "value": "<+json.object(httpResponseBody).data.count>"},
            {"name": "first", "type": "String", "value": "<+json.select(\"data.content[0]\", httpResponseBody)>"},
            {"name": "missing", "type": "String", "value": "<+json.select(\"data.nothing\", httpResponseBody)>"},
            {"name": "literal", "type": "String", "value": "fixed"},
        ],
    })
    assert out["outputVariables"] == {"count": "2", "countNumber": 2, "first": '{"status":"Success"}',
                                      "missing": None, "literal": "fixed"}


def test_unresolved_expression_in_url_fails_clearly(server: str) -> None:
    from orchestrator.expressions import UnresolvedExpression

    def resolve(body: str) -> Any:
        raise UnresolvedExpression(body)

    ctx = StepContext(run_id="r", node_key="s.h", attempt=1, step_type="Http", timeout=5,
                      spec={"url": f"{server}/<+pipeline.variables.nope>", "method": "GET"},
                      render=lambda o: o, resolve=resolve)
    with pytest.raises(StepError) as info:
        HttpExecutor().execute(ctx)
    assert info.value.error_type == ErrorType.UNKNOWN
    assert "pipeline.variables.nope" in info.value.message
