"""parse_condition / Condition: grammar, sample conditions, malformed input, comparison rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.expressions import (
    ConditionSyntaxError, ConditionValueError, ExpressionError, UnresolvedExpression, parse_condition,
)

VALUES: dict[str, Any] = {
    "env.type": "NA",
    "env.identifier": "qa",
    "service.identifier": "api",
    "execution.steps.pre_requisite.steps.get_deployed_version.output.outputVariables.STO_SCAN": "true",
    "steps.trigger_webhook_urls.output.httpResponseCode": 200,
    "a": "1", "b": "true", "f": "false", "n": None, "s": "abc", "num": 10, "dec": "2.50",
    "t": True, "empty": "", "obj": {"k": 1},
}
SAMPLE_ASSERTION = ("<+json.select(\"data.content[0].status\",httpResponseBody)>=='Success' || "
                    "<+json.select(\"data.content[0].status\",httpResponseBody)>=='IgnoreFailed'")
STO_CONDITION = ('<+execution.steps.pre_requisite.steps.get_deployed_version.output.outputVariables.STO_SCAN>'
                 ' && <+env.identifier> == "qa" && <+service.identifier> != "lwredis"')


def resolve(reference: str) -> Any:
    if reference in VALUES:
        return VALUES[reference]
    raise UnresolvedExpression(reference)


def check(text: str, **names: Any) -> bool:
    return parse_condition(text).evaluate(resolve, names)


def http_body(status: str) -> str:
    return json.dumps({"data": {"content": [{"status": status}]}})


# -- the samples ---------------------------------------------------------------------------

def test_sample_env_type() -> None:
    assert check('<+env.type> == "NA"') is True
    assert check('<+env.type> == "Production"') is False


@pytest.mark.parametrize("status, expected", [("Success", True), ("IgnoreFailed", True), ("Failed", False)])
def test_sample_http_assertion(status: str, expected: bool) -> None:
    assert check(SAMPLE_ASSERTION, httpResponseBody=http_body(status)) is expected


def test_sample_bare_local_name() -> None:
    assert check("httpResponseCode == 200", httpResponseCode=200) is True
    assert check("httpResponseCode == 200", httpResponseCode=500) is False


def test_sample_step_output_not_equal() -> None:
    assert check("<+steps.trigger_webhook_urls.output.httpResponseCode>!=400") is True


def test_sample_reference_used_as_boolean_with_and() -> None:
    assert check(STO_CONDITION) is True
    VALUES["service.identifier"] = "lwredis"
    try:
        assert check(STO_CONDITION) is False
    finally:
        VALUES["service.identifier"] = "api"


def test_literals_alone() -> None:
    assert check("true") is True and check("false") is False
    assert check(" ( true ) ") is True


def test_references_lists_every_expression_body_for_prefetching() -> None:
    assert parse_condition(STO_CONDITION).references == [
        "execution.steps.pre_requisite.steps.get_deployed_version.output.outputVariables.STO_SCAN",
        "env.identifier", "service.identifier"]
    assert parse_condition(SAMPLE_ASSERTION).references == ['json.select("data.content[0].status",httpResponseBody)']
    nested = parse_condition('<+json.list("$", <+stage.variables.urls>)>.contains("x") && "<+a>" == "1"')
    assert nested.references == ['json.list("$", <+stage.variables.urls>)', "stage.variables.urls", "a"]
    assert parse_condition("httpResponseCode == 200").references == []


def test_contains_method_as_in_matrix_samples() -> None:
    VALUES["pipeline.variables.VALID"] = "dev.k8s,qa.k8s"
    VALUES["matrix.env"], VALUES["matrix.infra"] = "qa", "k8s"
    assert check('<+pipeline.variables.VALID>.contains("<+matrix.env>.<+matrix.infra>")') is True
    VALUES["matrix.env"] = "prod"
    assert check('<+pipeline.variables.VALID>.contains("<+matrix.env>.<+matrix.infra>")') is False


# -- grammar -------------------------------------------------------------------------------

def test_precedence_and_binds_tighter_than_or() -> None:
    assert check("true || false && false") is True
    assert check("(true || false) && false") is False


def test_not_applies_to_the_comparison() -> None:
    assert check('!<+s> == "abc"') is False
    assert check('!(<+s> == "x") && !false') is True
    assert check("!!true") is True


def test_short_circuit_does_not_resolve_the_right_side() -> None:
    assert check("false && <+unknown.thing>") is False
    assert check("true || <+unknown.thing>") is True
    with pytest.raises(UnresolvedExpression):
        check("true && <+unknown.thing>")


def test_single_and_double_quoted_strings_with_escapes() -> None:
    VALUES["q"] = 'say "hi"\n'
    assert check(r'<+q> == "say \"hi\"\n"') is True
    assert check("<+q> == 'say \"hi\"\\n'") is True


@pytest.mark.parametrize("text, position, expected", [
    ("<+a> ==", 7, "expected an operand"),
    ("(<+a> == 1", 10, "expected ')'"),
    ("<+a> === 1", 7, "'=='"),
    ("&& x", 0, "expected an operand"),
    ("<+a", 0, "never closed by '>'"),
    ('"unterminated', 0, 'never closed by "'),
    ("", 0, "expected an operand"),
    ("<+a> == 1 == 2", 10, "expected '&&', '||' or end of condition"),
    ("<+a> = 1", 5, "'=='"),
    ("<+a> & <+b>", 5, "'&&'"),
    ("<+a> == 1)", 9, "expected '&&', '||' or end of condition"),
    ("<+a.>", 4, "expected a name after '.'"),
    ('<+json.select("x", y> == 1', 20, "expected ',' or ')' but found the end of the expression"),
    ("<+(100 - <+x>)> > 1", 2, "expected an operand"),
    ("a ! b", 2, "expected '&&', '||' or end of condition"),
])
def test_malformed_conditions_name_position_and_expectation(text: str, position: int, expected: str) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    error = info.value
    assert error.position == position, str(error)
    assert expected in error.message
    assert f"position {position}" in str(error)
    assert isinstance(error, ValueError)


# -- comparison semantics ------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('<+a> == 1', True),            # "1" looks numeric: number comparison
    ('<+a> == "1.0"', True),
    ('<+dec> == 2.5', True),
    ('<+num> > 9', True),           # 10 > 9 as numbers, not as text ("10" < "9")
    ('<+num> < "9"', False),
    ('<+num> >= 10 && <+num> <= 10', True),
    ('-1 < 0', True),
    ('<+s> < "abd"', True),         # non-numeric: lexicographic
    ('<+s> > "ab"', True),
    ('"B" < "a"', True),            # code point order
    ('<+b> == true', True),         # "true" string vs boolean literal
    ('<+t> == "TRUE"', True),       # a boolean against "true"/"false" text, any case
    ('<+t> != false', True),
    ('<+b> == "true"', True),
    ('<+n> == null', True),
    ('<+n> == "null"', True),       # null renders as "null"
    ('<+n> != ""', True),
    ('<+obj> == \'{"k":1}\'', True),  # objects compare as compact JSON
    ('<+s> == "ABC"', False),       # text comparison is case-sensitive
])
def test_comparison_semantics(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize("text, expected", [("<+b>", True), ("<+f>", False), ("<+n>", False),
                                            ("<+empty>", False), ("<+t>", True), ("!<+f>", True)])
def test_boolean_tests(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize("text", ["<+s>", "<+num>", "1", '"yes"', "<+obj> && true"])
def test_non_boolean_used_as_boolean_is_an_error(text: str) -> None:
    with pytest.raises(ConditionValueError, match="not a boolean"):
        check(text)


def test_unresolved_reference_propagates() -> None:
    with pytest.raises(UnresolvedExpression, match="secrets.getValue"):
        check('<+secrets.getValue("x")> == "y"')


def test_parsed_condition_is_reusable_and_cached() -> None:
    cond = parse_condition("httpResponseCode == 200")
    assert cond is parse_condition("httpResponseCode == 200")
    assert [cond.evaluate(resolve, {"httpResponseCode": code}) for code in (200, 404)] == [True, False]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<+>'\"\\()[].,=!&|-0123456789 abtruefalsnl_json.select$", max_size=40))
def test_any_text_parses_or_raises_condition_syntax_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ConditionSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        return
    try:
        assert condition.evaluate(lambda ref: "1", {}) in (True, False)
    except ExpressionError:
        pass
