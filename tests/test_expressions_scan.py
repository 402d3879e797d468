"""find_expressions: nesting, quotes inside bodies, text around expressions, unterminated input."""

from __future__ import annotations

import pytest

from orchestrator.expressions import ExpressionSyntaxError, Span, find_expressions


def bodies(text: str) -> list[str]:
    return [span.body for span in find_expressions(text)]


def test_plain_text_has_no_expressions() -> None:
    assert find_expressions("echo hello > out.txt; a <b> c") == []


def test_spans_cover_the_expression_and_keep_surrounding_text() -> None:
    text = "timeout=<+pipeline.variables.t>s and <+stage.name>!"
    spans = find_expressions(text)
    assert spans == [Span(8, 31, "pipeline.variables.t"), Span(37, 50, "stage.name")]
    assert [text[s.start : s.end] for s in spans] == ["<+pipeline.variables.t>", "<+stage.name>"]


def test_nested_expression_is_part_of_its_parent() -> None:
    text = 'triggerdata: <+json.list("$", <+stage.variables.sanity_urls>)> end'
    assert bodies(text) == ['json.list("$", <+stage.variables.sanity_urls>)']


def test_greater_than_inside_quotes_does_not_close() -> None:
    assert bodies('<+json.select("a>b", x)> and <+json.select(\'c>\', y)>') == [
        'json.select("a>b", x)', "json.select('c>', y)"]


def test_sample_assertion_with_quotes_and_comparisons_around() -> None:
    text = ("<+json.select(\"data.content[0].status\",httpResponseBody)>=='Success' || "
            "<+json.select(\"data.content[0].status\",httpResponseBody)>=='IgnoreFailed'")
    assert bodies(text) == ['json.select("data.content[0].status",httpResponseBody)'] * 2


def test_escaped_quote_inside_a_body_string() -> None:
    assert bodies(r'<+json.select("a\"b>", x)>!') == [r'json.select("a\"b>", x)']


def test_deeply_nested_expressions_do_not_exhaust_the_stack() -> None:
    depth = 5000
    text = "<+" * depth + "x" + ">" * depth
    assert len(find_expressions(text)) == 1


@pytest.mark.parametrize("text, position", [("echo <+pipeline.variables.x", 0),
                                            ('<+json.select("a, x)>', 14),
                                            ("<+a <+b>", 0)])
def test_unterminated_expression_is_an_error(text: str, position: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        find_expressions(text)
    assert info.value.position == position
    assert "never closed" in str(info.value)
