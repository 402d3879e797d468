"""evaluate_expression, render_text and render_value against a dict-backed resolver."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrator.expressions import (
    ExpressionSyntaxError, UnresolvedExpression, evaluate_expression, render_text, render_value,
)

BODY = json.dumps({"data": {"content": [{"status": "Success"}], "apiUrl": "https://x/api",
                            "executionDetails": {"pipelineExecutionSummary": {"status": "Running"}}}})
VALUES: dict[str, Any] = {
    "pipeline.variables.name": "world",
    "pipeline.variables.count": 3,
    "pipeline.variables.flag": True,
    "pipeline.variables.nothing": None,
    "pipeline.variables.obj": {"a": [1, 2]},
    "stage.variables.sanity_urls": json.dumps([{"url": "u1"}, {"url": "u2"}]),
    "stage.variables.csv": "a,b,c",
    "stage.spec.execution.steps.g.steps.a.output.approvalActivities[0].user.name": "ann",
}


def resolve(reference: str) -> Any:
    if reference in VALUES:
        return VALUES[reference]
    raise UnresolvedExpression(reference, "not in the test table")


def ev(body: str, **names: Any) -> Any:
    return evaluate_expression(body, resolve, names)


def test_reference_is_handed_to_the_resolver() -> None:
    assert ev("pipeline.variables.name") == "world"
    assert ev("  pipeline.variables.count ") == 3


def test_reference_with_list_index_reaches_the_resolver_whole() -> None:
    assert ev("stage.spec.execution.steps.g.steps.a.output.approvalActivities[0].user.name") == "ann"


def test_unknown_reference_raises_unresolved_naming_it() -> None:
    with pytest.raises(UnresolvedExpression) as info:
        ev("pipeline.variables.missing")
    assert info.value.body == "pipeline.variables.missing"
    assert "pipeline.variables.missing" in str(info.value)


def test_local_names_come_before_the_resolver() -> None:
    assert ev("httpResponseCode", httpResponseCode=201) == 201
    with pytest.raises(UnresolvedExpression):
        ev("httpResponseCode")


def test_json_select_with_local_name() -> None:
    assert ev('json.select("data.content[0].status",httpResponseBody)', httpResponseBody=BODY) == "Success"
    assert ev("json.select('data.apiUrl', httpResponseBody)", httpResponseBody=BODY) == "https://x/api"


def test_json_select_missing_path_is_null() -> None:
    assert ev('json.select("data.nope[3].x", httpResponseBody)', httpResponseBody=BODY) is None


def test_json_select_on_already_parsed_value_and_string_literal() -> None:
    assert ev('json.select("a[1]", <+pipeline.variables.obj>)') == 2
    assert ev("""json.select("k", '{"k": "v"}')""") == "v"


def test_json_object_then_navigation() -> None:
    body = "json.object(httpResponseBody).data.executionDetails.pipelineExecutionSummary.status"
    assert ev(body, httpResponseBody=BODY) == "Running"
    assert ev("json.object(httpResponseBody).data.content[0].status", httpResponseBody=BODY) == "Success"
    assert ev("json.object(httpResponseBody).data.missing.deeper", httpResponseBody=BODY) is None


def test_json_list_with_nested_expression() -> None:
    assert ev('json.list("$", <+stage.variables.sanity_urls>)') == [{"url": "u1"}, {"url": "u2"}]
    assert ev('json.list("$[1].url", <+stage.variables.sanity_urls>)') == ["u2"]
    assert ev('json.list("nothing", <+stage.variables.sanity_urls>)') == []


def test_invalid_json_is_unresolved_with_reason() -> None:
    with pytest.raises(UnresolvedExpression, match="not valid JSON"):
        ev('json.select("a", httpResponseBody)', httpResponseBody="<html>")


def test_wrong_argument_count() -> None:
    with pytest.raises(UnresolvedExpression, match="takes 2 argument"):
        ev('json.select("a")')


@pytest.mark.parametrize("body, name", [('secrets.getValue("x")', "getValue"),
                                        ('foo("x")', "foo"),
                                        ('pipeline.variables.name.toLowerCase()', "toLowerCase")])
def test_unsupported_functions_are_unresolved_with_clear_message(body: str, name: str) -> None:
    with pytest.raises(UnresolvedExpression) as info:
        ev(body)
    assert name in str(info.value) and "not supported" in str(info.value)
    assert "json.select" in str(info.value)  # says what is supported


def test_string_methods() -> None:
    assert ev('pipeline.variables.name.contains("orl")') is True
    assert ev('<+pipeline.variables.name>.startsWith("wo")') is True
    assert ev('<+pipeline.variables.name>.endsWith("x")') is False
    assert ev("<+stage.variables.csv>.split(',')") == ["a", "b", "c"]


def test_string_literal_with_expressions_is_rendered() -> None:
    assert ev('"<+pipeline.variables.name>:<+pipeline.variables.count>"') == "world:3"


@pytest.mark.parametrize("body", ["(100 - <+matrix.weight>)", "a +", "a.", "a[x]", "json.select(", '"a" "b"'])
def test_malformed_bodies_are_syntax_errors(body: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        ev(body)
    assert isinstance(info.value, UnresolvedExpression)  # one except clause catches both


def test_values_are_never_parsed_again() -> None:
    VALUES["pipeline.variables.sneaky"] = "<+pipeline.variables.name>"
    try:
        assert ev("pipeline.variables.sneaky") == "<+pipeline.variables.name>"
        assert render_text("x=<+pipeline.variables.sneaky>", resolve) == "x=<+pipeline.variables.name>"
    finally:
        del VALUES["pipeline.variables.sneaky"]


def test_render_text_formats_values() -> None:
    text = ("n=<+pipeline.variables.name> c=<+pipeline.variables.count> f=<+pipeline.variables.flag>"
            " z=<+pipeline.variables.nothing> o=<+pipeline.variables.obj>")
    assert render_text(text, resolve) == 'n=world c=3 f=true z=null o={"a":[1,2]}'


def test_render_text_without_expressions_is_unchanged() -> None:
    assert render_text("plain 'text' > here", resolve) == "plain 'text' > here"


def test_render_text_nested_and_local_names() -> None:
    assert render_text('urls=<+json.list("$", <+stage.variables.sanity_urls>)>', resolve) == \
        'urls=[{"url":"u1"},{"url":"u2"}]'
    assert render_text("<+httpResponseCode>!", resolve, {"httpResponseCode": 404}) == "404!"


def test_render_value_keeps_the_type_of_a_lone_expression() -> None:
    spec = {"count": "<+pipeline.variables.count>", "obj": "<+pipeline.variables.obj>",
            "list": ["<+pipeline.variables.flag>", "x<+pipeline.variables.count>", 7, None],
            "nested": {"none": "<+pipeline.variables.nothing>", "<+pipeline.variables.name>": "k"},
            "padded": " <+pipeline.variables.count>"}
    assert render_value(spec, resolve) == {
        "count": 3, "obj": {"a": [1, 2]}, "list": [True, "x3", 7, None],
        "nested": {"none": None, "<+pipeline.variables.name>": "k"}, "padded": " 3"}


def test_render_value_raises_for_unresolved() -> None:
    with pytest.raises(UnresolvedExpression):
        render_value({"a": ["<+env.name>"]}, resolve)
