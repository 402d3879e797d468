"""RunContextResolver against a compiled plan, and the prefetch references."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.expressions import (
    RunContextResolver, UnresolvedExpression, output_references, parse_condition, render_text,
)
from orchestrator.expressions.context import status_references
from orchestrator.model import Pipeline
from orchestrator.plan.compile import compile_plan
from orchestrator.plan.model import ROOT, Plan

COMPILE_OUT = "pipeline.stages.build.spec.execution.steps.grp.steps.compile.output"


def step(identifier: str, **extra: Any) -> dict[str, Any]:
    return {"step": {"identifier": identifier, "name": identifier.title(), "type": "ShellScript",
                     "spec": {"shell": "Bash", "source": {"type": "Inline", "spec": {"script": "true"}}}, **extra}}


def group(identifier: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"stepGroup": {"identifier": identifier, "name": identifier, "steps": list(steps)}}


def var(name: str, value: Any, type_: str = "String") -> dict[str, Any]:
    return {"name": name, "type": type_, "value": value}


@pytest.fixture(scope="module")
def plan() -> Plan:
    pipeline = Pipeline.model_validate({
        "identifier": "deploy", "name": "Deploy it",
        "variables": [
            var("who", "world"),
            var("greeting", "hello <+pipeline.variables.who>"),
            var("loop_a", "x<+pipeline.variables.loop_b>"),
            var("loop_b", "<+pipeline.variables.loop_a>"),
            var("url", f"<+{COMPILE_OUT}.outputVariables.url>"),
            var("count", 3, "Number"),
            var("deep0", "<+pipeline.variables.deep1>"), var("deep1", "<+pipeline.variables.deep2>"),
            var("deep2", "end"),
        ],
        "stages": [
            {"stage": {
                "identifier": "build", "name": "Build", "type": "Custom",
                "variables": [var("target", "prod"), var("fromstep", "<+steps.compile.output.outputVariables.url>"),
                              var("greet", "<+pipeline.variables.greeting>!")],
                "spec": {"execution": {
                    "steps": [
                        step("prep"),
                        group("grp", step("compile"), step("test")),
                        group("grp2", step("compile"), step("use")),
                        {"parallel": [step("p1"), step("p2")]},
                        group("outer", group("inner", step("deep"))),
                    ],
                    "rollbackSteps": [step("undo"), step("prep")],
                }},
            }},
            {"stage": {"identifier": "ship", "name": "Ship", "type": "Custom",
                       "variables": [var("target", "staging")],
                       "spec": {"execution": {"steps": [step("s1")]}}}},
        ],
    })
    return compile_plan(pipeline)


OUTPUTS: dict[str, dict[str, Any]] = {
    "build.grp.compile": {"outputVariables": {"url": "https://a", "sneaky": "<+pipeline.variables.who>"},
                          "httpResponseCode": 200, "items": [{"name": "first"}]},
    "build.grp2.compile": {"outputVariables": {"url": "https://b"}},
    "build.outer.inner.deep": {"outputVariables": {"v": "deep-value"}},
    "build.rollback.undo": {"outputVariables": {"done": "yes"}},
    "build.prep": {"outputVariables": {"who": "prep"}},
    "build.rollback.prep": {"outputVariables": {"who": "rollback-prep"}},
    "build.grp.test": {"outputVariables": {"ok": "true"}},
}
STATUSES = {"build": "Success", "build.grp.compile": "Failed"}


def resolver(plan: Plan, node: str, **kw: Any) -> RunContextResolver:
    return RunContextResolver(plan, node, run_id="run-123", outputs=OUTPUTS.get, status=STATUSES.get, **kw)


def res(plan: Plan, node: str, reference: str, **kw: Any) -> Any:
    return resolver(plan, node, **kw).resolve(reference)


def unresolved(plan: Plan, node: str, reference: str, match: str) -> None:
    with pytest.raises(UnresolvedExpression, match=match):
        res(plan, node, reference)


# -- variables -----------------------------------------------------------------------------

def test_pipeline_variables(plan: Plan) -> None:
    assert res(plan, "build.prep", "pipeline.variables.who") == "world"
    assert res(plan, "build.prep", "pipeline.variables.count") == 3
    unresolved(plan, "build.prep", "pipeline.variables.nope", "no variable 'nope'")


def test_variable_values_are_rendered_recursively(plan: Plan) -> None:
    assert res(plan, "build.prep", "pipeline.variables.greeting") == "hello world"
    assert res(plan, "build.prep", "stage.variables.greet") == "hello world!"
    assert res(plan, "build.prep", "pipeline.variables.deep0") == "end"


def test_variable_cycle_is_an_error_naming_the_cycle(plan: Plan) -> None:
    unresolved(plan, "build.prep", "pipeline.variables.loop_a",
               "cycle: pipeline.variables.loop_a -> pipeline.variables.loop_b -> pipeline.variables.loop_a")


def test_variable_depth_limit(plan: Plan) -> None:
    with pytest.raises(UnresolvedExpression, match="more than 2 levels"):
        res(plan, "build.prep", "pipeline.variables.deep0", max_depth=2)


def test_stage_variables_of_the_current_stage_only(plan: Plan) -> None:
    assert res(plan, "build.grp.test", "stage.variables.target") == "prod"
    assert res(plan, "ship.s1", "stage.variables.target") == "staging"
    assert res(plan, "ship", "stage.variables.target") == "staging"
    unresolved(plan, "build.prep", "stage.variables.who", "stage 'build' has no variable 'who'")
    unresolved(plan, ROOT, "stage.variables.target", "not inside a stage")


def test_stage_variable_is_rendered_in_the_referencing_node_context(plan: Plan) -> None:
    assert res(plan, "build.grp.test", "stage.variables.fromstep") == "https://a"
    assert res(plan, "build.grp2.use", "stage.variables.fromstep") == "https://b"


def test_other_stage_variables_by_full_path(plan: Plan) -> None:
    assert res(plan, "build.prep", "pipeline.stages.ship.variables.target") == "staging"


# -- facts ---------------------------------------------------------------------------------

def test_names_and_identifiers(plan: Plan) -> None:
    r = resolver(plan, "build.grp.test")
    assert [r(x) for x in ("pipeline.name", "pipeline.identifier", "pipeline.executionId", "stage.name",
                           "stage.identifier", "step.name", "step.identifier",
                           "pipeline.stages.ship.name", "pipeline.stages.ship.identifier")] == [
        "Deploy it", "deploy", "run-123", "Build", "build", "Test", "test", "Ship", "ship"]


def test_sequence_id(plan: Plan) -> None:
    assert res(plan, "build.prep", "pipeline.sequenceId", sequence_id=7) == 7
    unresolved(plan, "build.prep", "pipeline.sequenceId", "no sequence id")


def test_step_facts_only_in_a_step(plan: Plan) -> None:
    unresolved(plan, "build.grp", "step.name", "only available in a step")
    unresolved(plan, "build.prep", "pipeline.name.x", "plain value")


# -- statuses ------------------------------------------------------------------------------

def test_stage_and_step_status(plan: Plan) -> None:
    assert res(plan, "ship.s1", "pipeline.stages.build.status") == "Success"
    assert res(plan, "build.prep", "pipeline.stages.ship.status") == "NotStarted"
    assert res(plan, "build.p1", "stage.spec.execution.steps.grp.steps.compile.status") == "Failed"
    unresolved(plan, "build.prep", "pipeline.stages.nope.status", "no stage 'nope'")


# -- step outputs --------------------------------------------------------------------------

def test_full_path_outputs(plan: Plan) -> None:
    assert res(plan, "ship.s1", f"{COMPILE_OUT}.outputVariables.url") == "https://a"
    assert res(plan, "ship.s1", f"{COMPILE_OUT}.httpResponseCode") == 200
    assert res(plan, "ship.s1", f"{COMPILE_OUT}.items[0].name") == "first"
    assert res(plan, "build.p2", "stage.spec.execution.steps.grp2.steps.compile.output.outputVariables.url") == \
        "https://b"
    assert res(plan, "build.p2", "execution.steps.outer.steps.inner.steps.deep.output.outputVariables.v") == \
        "deep-value"
    assert res(plan, "ship.s1", "pipeline.stages.build.spec.execution.rollbackSteps.undo.output.outputVariables.done") \
        == "yes"


def test_relative_steps_prefer_siblings(plan: Plan) -> None:
    assert res(plan, "build.grp.test", "steps.compile.output.outputVariables.url") == "https://a"
    assert res(plan, "build.grp2.use", "steps.compile.output.outputVariables.url") == "https://b"
    assert res(plan, "build.p1", "steps.prep.output.outputVariables.who") == "prep"
    assert res(plan, "build.rollback.undo", "steps.prep.output.outputVariables.who") == "rollback-prep"


def test_relative_steps_anywhere_in_the_stage(plan: Plan) -> None:
    assert res(plan, "build.outer.inner.deep", "steps.test.output.outputVariables.ok") == "true"
    assert res(plan, "build.rollback.undo", "steps.test.output.outputVariables.ok") == "true"
    assert res(plan, "build.p1", "steps.grp.steps.test.output.outputVariables.ok") == "true"
    assert res(plan, "build.p1", "steps.deep.output.outputVariables.v") == "deep-value"


def test_relative_step_ambiguous_or_missing(plan: Plan) -> None:
    unresolved(plan, "build.p1", "steps.compile.output.outputVariables.url",
               r"ambiguous.*build.grp.compile, build.grp2.compile")
    unresolved(plan, "ship.s1", "steps.compile.output.outputVariables.url", "stage 'ship' has no step")
    unresolved(plan, ROOT, "steps.compile.output.x", "not inside a stage")


def test_missing_outputs_are_errors(plan: Plan) -> None:
    unresolved(plan, "build.p1", "steps.p2.output.outputVariables.x", "has no outputs")
    unresolved(plan, "ship.s1", f"{COMPILE_OUT}.outputVariables.nope", "has no output outputVariables.nope")
    unresolved(plan, "ship.s1", f"{COMPILE_OUT}.items[3]", r"has no output items\[3\]")
    unresolved(plan, "ship.s1", "pipeline.stages.build.spec.execution.steps.nope.output.x", "no step or step group 'nope'")
    unresolved(plan, "build.p1", "execution.steps.grp.output.x", "step group")
    unresolved(plan, "build.p1", "execution.steps.grp.steps.compile.timeout", "expected .output")


def test_outputs_are_data_never_rendered(plan: Plan) -> None:
    assert res(plan, "ship.s1", f"{COMPILE_OUT}.outputVariables.sneaky") == "<+pipeline.variables.who>"


@pytest.mark.parametrize("reference, reason", [
    ("env.name", "environments"), ('secrets.getValue("x")', "not supported"), ("service.identifier", "services"),
    ("matrix.weight", "matrix"), ("input", "inputs"), ("whatever.x", "unknown reference"),
    ("stage.status", "after a stage"),
])
def test_unsupported_references(plan: Plan, reference: str, reason: str) -> None:
    with pytest.raises(UnresolvedExpression, match=reason):
        render_text(f"<+{reference}>", resolver(plan, "build.prep"))


# -- end to end through the public functions ----------------------------------------------

def test_resolver_drives_rendering_and_conditions(plan: Plan) -> None:
    r = resolver(plan, "build.grp.test")
    assert r.render_text("<+stage.variables.greet> from <+steps.compile.output.outputVariables.url>") == \
        "hello world! from https://a"
    assert r.render_value({"n": "<+pipeline.variables.count>"}) == {"n": 3}
    script, env = r.render_shell("curl '<+pipeline.variables.url>'")
    assert script == "curl ''\"${ORCH_EXPR_1}\"''" and env == {"ORCH_EXPR_1": "https://a"}
    assert r.condition('<+pipeline.stages.build.status> == "Success" && <+stage.variables.target> == "prod"')
    assert r.condition(parse_condition("httpResponseCode >= 400"), {"httpResponseCode": 404})


# -- prefetch references -------------------------------------------------------------------

def test_output_references_in_a_spec(plan: Plan) -> None:
    spec = {"script": "echo <+steps.compile.output.outputVariables.url> <+pipeline.variables.who>",
            "env": [{"value": "<+execution.steps.outer.steps.inner.steps.deep.output.outputVariables.v>"}],
            "n": 3, "none": None}
    assert output_references(spec, plan, "build.grp.test") == {"build.grp.compile", "build.outer.inner.deep"}


def test_output_references_follow_variables_and_nesting(plan: Plan) -> None:
    assert output_references("<+pipeline.variables.url>", plan, "ship.s1") == {"build.grp.compile"}
    assert output_references("<+stage.variables.fromstep>", plan, "build.grp2.use") == {"build.grp2.compile"}
    text = '<+json.list("$", <+steps.test.output.outputVariables.ok>)> "<+steps.prep.output.outputVariables.who>"'
    assert output_references(text, plan, "build.rollback.undo") == {"build.grp.test", "build.rollback.prep"}


def test_output_references_in_conditions(plan: Plan) -> None:
    condition = f'<+{COMPILE_OUT}.httpResponseCode> == 200 || <+pipeline.stages.build.status> == "Failed"'
    assert output_references(condition, plan, "ship.s1") == {"build.grp.compile"}
    assert output_references(parse_condition(condition), plan, "ship.s1") == {"build.grp.compile"}
    assert status_references(condition, plan, "ship.s1") == {"build"}
    assert status_references("<+stage.spec.execution.steps.grp.steps.compile.status>", plan, "build.p1") == \
        {"build.grp.compile"}


def test_output_references_skip_what_cannot_resolve(plan: Plan) -> None:
    text = "<+env.name> <+steps.compile.output.x> <+pipeline.variables.loop_a> <+a +> <+httpResponseBody>"
    assert output_references(text, plan, "build.p1") == set()
    assert output_references("no expressions", plan, "build.p1") == set()
    assert output_references("<+a +> <+steps.deep.output.outputVariables.v>", plan, "build.p1") == \
        {"build.outer.inner.deep"}
