"""The design-time CLI (validate, plan, schema) on bad input: exit 2, file, line, YAML path, message.

One test per bad-input case of issue 2's acceptance list, each through the real typer app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.design_helpers import (
    assert_reported,
    cli,
    line_of,
    no_traceback,
    one_step_pipeline,
    write,
)

STEP_PATH = "pipeline.stages[0].stage.spec.execution.steps[0].step"
STAGE_PATH = "pipeline.stages[0].stage"


# ----------------------------------------------------------------------------- reading the file


def test_malformed_yaml(tmp_path: Path) -> None:
    text = """\
    pipeline:
      identifier: demo
      stages:
        - stage:
            identifier: build
            timeout: 10m: 5m
            type: Custom
    """
    path = write(tmp_path, "broken.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "timeout: 10m: 5m"),
                    "pipeline.stages[0].stage.timeout", "yaml_syntax", "malformed YAML", "mapping values are not allowed")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing here\n")
    assert_reported(cli("validate", path), path, 1, "<root>", "empty_file", "the file is empty")


def test_duplicate_key(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("        name: build\n", "        name: build\n        identifier: again\n")
    path = write(tmp_path, "dup.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "identifier: again"),
                    f"{STAGE_PATH}.identifier", "duplicate_key", "duplicate key 'identifier'")


def test_fragment_without_pipeline_root(tmp_path: Path) -> None:
    text = """\
    tags: {}
    stages:
      - stage:
          identifier: a
    """
    path = write(tmp_path, "fragment.yaml", text)
    assert_reported(cli("validate", path), path, 1, "<root>", "unknown_root", "`pipeline:` or `template:`", "tags, stages")


def test_missing_file_is_usage_error_not_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = cli("validate", missing)
    no_traceback(result)
    assert result.exit_code == 2
    assert f"{missing}: <root>: cannot read {missing}" in result.output
    assert "[unreadable_file]" in result.output


def test_unsupported_template_type(tmp_path: Path) -> None:
    text = """\
    template:
      identifier: notify
      name: notify
      type: Step
      spec:
        type: ShellScript
    """
    path = write(tmp_path, "step_template.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "type: Step"), "template.type",
                    "unsupported_template", "template type 'Step' is not supported")


# ----------------------------------------------------------------------------- shape


def test_wrong_type(tmp_path: Path) -> None:
    text = """\
    pipeline:
      identifier: demo
      stages:
        - stage:
            identifier: build
            type: Custom
            spec:
              execution:
                steps: just a string
    """
    path = write(tmp_path, "wrong_type.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "steps: just a string"),
                    f"{STAGE_PATH}.spec.execution.steps", "wrong_type", "expected a list, got 'just a string'")


def test_wrong_type_of_scalar(tmp_path: Path) -> None:
    text = one_step_pipeline(stage_extra="variables: {a: 1}")
    path = write(tmp_path, "wrong_variables.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "variables: {a: 1}"),
                    f"{STAGE_PATH}.variables", "wrong_type", "expected a list, got a mapping")


def test_bad_duration(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("timeout: 10m", "timeout: 10 minutes")
    path = write(tmp_path, "duration.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "timeout: 10 minutes"), f"{STEP_PATH}.timeout",
                    "invalid_duration", "invalid duration '10 minutes'")


def test_number_without_unit_is_a_bad_duration(tmp_path: Path) -> None:
    text = one_step_pipeline(stage_extra="timeout: 30")
    path = write(tmp_path, "duration_number.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "timeout: 30"), f"{STAGE_PATH}.timeout",
                    "invalid_duration", "give a unit")


def test_unknown_stage_type_lists_the_allowed_ones(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("type: Custom", "type: Costum")
    path = write(tmp_path, "stage_type.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "type: Costum"), f"{STAGE_PATH}.type",
                    "invalid_value", "invalid value 'Costum'", "Custom, Deployment, CI, Approval, Pipeline")


def test_missing_identifier(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("                  identifier: compile\n", "")
    path = write(tmp_path, "no_id.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "- step:"), f"{STEP_PATH}.identifier",
                    "missing_field", "missing required key 'identifier'")


def test_list_item_that_is_not_a_step(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("- step:", "- stepp:")
    path = write(tmp_path, "not_a_step.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "- stepp:"), f"{STAGE_PATH}.spec.execution.steps[0]",
                    "invalid_element", "exactly one of the keys step, stepGroup or parallel", "got stepp")


# ----------------------------------------------------------------------------- semantics


def test_unknown_step_type(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("type: ShellScript", "type: K8sRollingDeploy")
    path = write(tmp_path, "unknown_type.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "type: K8sRollingDeploy"), f"{STEP_PATH}.type",
                    "unknown_step_type", "unknown step type 'K8sRollingDeploy'", "register_executor('K8sRollingDeploy'",
                    "ORCHESTRATOR_PLUGINS")


def test_step_template_reference_is_unknown_step_type(tmp_path: Path) -> None:
    text = """\
    pipeline:
      identifier: demo
      stages:
        - stage:
            identifier: build
            type: Custom
            spec:
              execution:
                steps:
                  - step:
                      identifier: notify
                      name: notify
                      template:
                        templateRef: Slack_Notify
                        versionLabel: v1
    """
    path = write(tmp_path, "template_step.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "template:"), f"{STEP_PATH}.template",
                    "unknown_step_type", "step templates are not resolved", "Slack_Notify")


DUPLICATE_IN_STEPS = """\
pipeline:
  identifier: demo
  stages:
    - stage:
        identifier: build
        type: Custom
        spec:
          execution:
            steps:
              - step:
                  identifier: compile
                  type: ShellScript
                  spec: {shell: Bash, source: {type: Inline, spec: {script: echo 1}}}
              - step:
                  identifier: compile
                  type: ShellScript
                  spec: {shell: Bash, source: {type: Inline, spec: {script: echo 2}}}
"""

DUPLICATE_ACROSS_PARALLEL = """\
pipeline:
  identifier: demo
  stages:
    - stage:
        identifier: build
        type: Custom
        spec:
          execution:
            steps:
              - step:
                  identifier: compile
                  type: ShellScript
                  spec: {shell: Bash, source: {type: Inline, spec: {script: echo 1}}}
              - parallel:
                  - step:
                      identifier: lint
                      type: ShellScript
                      spec: {shell: Bash, source: {type: Inline, spec: {script: echo 2}}}
                  - step:
                      identifier: compile
                      type: ShellScript
                      spec: {shell: Bash, source: {type: Inline, spec: {script: echo 3}}}
"""


@pytest.mark.parametrize(("text", "dup_path"), [
    (DUPLICATE_IN_STEPS, "steps[1].step.identifier"),
    (DUPLICATE_ACROSS_PARALLEL, "steps[1].parallel[1].step.identifier"),
], ids=["steps", "parallel"])
def test_duplicate_identifiers_among_siblings(tmp_path: Path, text: str, dup_path: str) -> None:
    path = write(tmp_path, "dup_ids.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "identifier: compile", occurrence=2),
                    f"{STAGE_PATH}.spec.execution.{dup_path}", "duplicate_identifier",
                    "duplicate identifier 'compile' among the siblings in 'build'",
                    f"(line {line_of(text, 'identifier: compile')})")


def test_same_identifier_in_steps_and_rollback_steps_is_fine(tmp_path: Path) -> None:
    rollback = """\
    - step:
        identifier: compile
        type: ShellScript
        spec: {shell: Bash, source: {type: Inline, spec: {script: echo undo}}}
    """
    path = write(tmp_path, "rollback_same_id.yaml", one_step_pipeline(rollback=rollback))
    result = cli("validate", path)
    assert result.exit_code == 0, result.output


def test_duplicate_stage_identifiers_across_a_parallel_block(tmp_path: Path) -> None:
    text = """\
    pipeline:
      identifier: demo
      stages:
        - stage:
            identifier: build
            type: Pipeline
            spec: {pipeline: demo_child}
        - parallel:
            - stage:
                identifier: test
                type: Pipeline
                spec: {pipeline: demo_child}
            - stage:
                identifier: build
                type: Pipeline
                spec: {pipeline: demo_child}
    """
    write(tmp_path, "child.yaml", one_step_pipeline().replace("identifier: demo", "identifier: demo_child", 1))
    path = write(tmp_path, "dup_stages.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "identifier: build", occurrence=2),
                    "pipeline.stages[1].parallel[1].stage.identifier", "duplicate_identifier",
                    "duplicate identifier 'build' in the pipeline")


def test_stage_when_with_step_status_key(tmp_path: Path) -> None:
    text = one_step_pipeline(stage_extra="when:\n  stageStatus: Failure")
    path = write(tmp_path, "when.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "stageStatus: Failure"), f"{STAGE_PATH}.when.stageStatus",
                    "invalid_when", "uses pipelineStatus")


def test_condition_that_does_not_parse(tmp_path: Path) -> None:
    text = one_step_pipeline(step_extra="when:\n  stageStatus: Success\n  condition: <+pipeline.variables.x> ==")
    path = write(tmp_path, "condition.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "condition:"), f"{STEP_PATH}.when.condition",
                    "invalid_condition", "<+pipeline.variables.x> ==")


def test_invalid_step_spec(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("shell: Bash", "shell: PowerShell")
    path = write(tmp_path, "spec.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "shell: PowerShell"), f"{STEP_PATH}.spec.shell",
                    "invalid_step_spec", "PowerShell")


# ----------------------------------------------------------------------------- failure strategies

STRATEGY_CASES = {
    "unknown_error_type": ("""\
        failureStrategies:
          - onFailure:
              errors: [Timeout, Timout]
              action:
                type: Abort
        """, "errors: [Timeout, Timout]", "failureStrategies[0].onFailure.errors[1]", "unknown_error_type",
        ["unknown error type 'Timout'", "did you mean Timeout?"]),
    "unknown_action_type": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retri
        """, "action:", "failureStrategies[0].onFailure.action", "invalid_strategy",
        ["unknown action type 'Retri'", "expected one of Ignore, Retry"]),
    "all_errors_mixed": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors, Timeout]
              action:
                type: Abort
        """, "errors: [AllErrors, Timeout]", "failureStrategies[0].onFailure.errors", "invalid_strategy",
        ["AllErrors may not be listed with other error types"]),
    "same_type_two_actions": ("""\
        failureStrategies:
          - onFailure:
              errors: [Timeout]
              action:
                type: Abort
          - onFailure:
              errors: [Connectivity, Timeout]
              action:
                type: Ignore
        """, "errors: [Connectivity, Timeout]", "failureStrategies[1].onFailure.errors[1]", "conflicting_strategy",
        ["error type Timeout is mapped to Ignore here and to Abort in entry [0]"]),
    "all_errors_two_actions": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Abort
          - onFailure:
              errors: [AllErrors]
              action:
                type: MarkAsSuccess
        """, "errors: [AllErrors]", "failureStrategies[1].onFailure.errors[0]", "conflicting_strategy",
        ["AllErrors is mapped to MarkAsSuccess here and to Abort"], 2),
    "negative_retry_count": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: -1
                  retryIntervals: [1s]
                  onRetryFailure: {action: {type: Abort}}
        """, "retryCount: -1", "failureStrategies[0].onFailure.action.spec.retryCount", "invalid_strategy",
        ["must be >= 0, got -1"]),
    "retry_count_not_integer": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: often
                  retryIntervals: [1s]
                  onRetryFailure: {action: {type: Abort}}
        """, "retryCount: often", "failureStrategies[0].onFailure.action.spec.retryCount", "invalid_strategy",
        ["expected a whole number, got 'often'"]),
    "empty_retry_intervals": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: 2
                  retryIntervals: []
                  onRetryFailure: {action: {type: Abort}}
        """, "retryIntervals: []", "failureStrategies[0].onFailure.action.spec.retryIntervals", "invalid_strategy",
        ["must not be empty"]),
    "bad_retry_interval": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: 2
                  retryIntervals: [1s, soon]
                  onRetryFailure: {action: {type: Abort}}
        """, "retryIntervals: [1s, soon]", "failureStrategies[0].onFailure.action.spec.retryIntervals[1]",
        "invalid_duration", ["invalid duration 'soon'"]),
    "retry_without_on_retry_failure": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: 2
                  retryIntervals: [1s]
        """, "spec:", "failureStrategies[0].onFailure.action.spec.onRetryFailure", "invalid_strategy",
        ["missing required key 'onRetryFailure'"], 4),
    "on_retry_failure_retry": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: 2
                  retryIntervals: [1s]
                  onRetryFailure:
                    action:
                      type: Retry
                      spec: {retryCount: 1, retryIntervals: [1s], onRetryFailure: {action: {type: Abort}}}
        """, "type: Retry", "failureStrategies[0].onFailure.action.spec.onRetryFailure.action.type",
        "invalid_strategy", ["onRetryFailure may not be Retry"], 2),
    "on_retry_failure_retry_step_group": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: 2
                  retryIntervals: [1s]
                  onRetryFailure:
                    action:
                      type: RetryStepGroup
                      spec: {retryCount: 1, retryIntervals: [1s]}
        """, "type: RetryStepGroup", "failureStrategies[0].onFailure.action.spec.onRetryFailure.action.type",
        "invalid_strategy", ["onRetryFailure may not be RetryStepGroup"]),
    "on_timeout_manual_intervention": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: ManualIntervention
                spec:
                  timeout: 1h
                  onTimeout:
                    action:
                      type: ManualIntervention
                      spec: {timeout: 1h, onTimeout: {action: {type: Abort}}}
        """, "type: ManualIntervention", "failureStrategies[0].onFailure.action.spec.onTimeout.action.type",
        "invalid_strategy", ["onTimeout may not be ManualIntervention"], 2),
    "on_timeout_retry": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: ManualIntervention
                spec:
                  timeout: 1h
                  onTimeout:
                    action:
                      type: Retry
                      spec: {retryCount: 1, retryIntervals: [1s], onRetryFailure: {action: {type: Abort}}}
        """, "type: Retry", "failureStrategies[0].onFailure.action.spec.onTimeout.action.type",
        "invalid_strategy", ["onTimeout may not be Retry"]),
    "proceed_with_defaults_for_other_types": ("""\
        failureStrategies:
          - onFailure:
              errors: [Timeout]
              action:
                type: ProceedWithDefaultValues
        """, "type: ProceedWithDefaultValues", "failureStrategies[0].onFailure.action.type", "invalid_strategy",
        ["ProceedWithDefaultValues applies only to InputTimeoutError", "covers Timeout"]),
    "bad_intervention_timeout": ("""\
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: ManualIntervention
                spec:
                  timeout: forever
                  onTimeout: {action: {type: Abort}}
        """, "timeout: forever", "failureStrategies[0].onFailure.action.spec.timeout", "invalid_duration",
        ["invalid duration 'forever'"]),
}


@pytest.mark.parametrize("case", sorted(STRATEGY_CASES))
def test_invalid_step_strategy(tmp_path: Path, case: str) -> None:
    block, marker, rel_path, code, texts, *occurrence = STRATEGY_CASES[case]
    text = one_step_pipeline(step_extra=block)
    path = write(tmp_path, f"{case}.yaml", text)
    line = line_of(text, marker, occurrence[0] if occurrence else 1)
    assert_reported(cli("validate", path), path, line, f"{STEP_PATH}.{rel_path}", code, *texts)


@pytest.mark.parametrize("action", ["StageRollback", "StepGroupRollback", "PipelineRollback"])
def test_rollback_action_inside_rollback_steps(tmp_path: Path, action: str) -> None:
    rollback = f"""\
    - step:
        identifier: undo
        type: ShellScript
        spec: {{shell: Bash, source: {{type: Inline, spec: {{script: echo undo}}}}}}
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: {action}
    """
    text = one_step_pipeline(rollback=rollback)
    path = write(tmp_path, "rollback_action.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, f"type: {action}"),
                    f"{STAGE_PATH}.spec.execution.rollbackSteps[0].step.failureStrategies[0].onFailure.action.type",
                    "invalid_strategy", f"{action} is not allowed for steps inside rollbackSteps")


def test_rollback_action_nested_in_on_retry_failure_inside_a_rollback_group(tmp_path: Path) -> None:
    rollback = """\
    - stepGroup:
        identifier: cleanup
        steps:
          - step:
              identifier: undo
              type: ShellScript
              spec: {shell: Bash, source: {type: Inline, spec: {script: echo undo}}}
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action:
                type: Retry
                spec:
                  retryCount: 1
                  retryIntervals: [1s]
                  onRetryFailure:
                    action:
                      type: PipelineRollback
    """
    text = one_step_pipeline(rollback=rollback)
    path = write(tmp_path, "rollback_nested.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "type: PipelineRollback"),
                    f"{STAGE_PATH}.spec.execution.rollbackSteps[0].stepGroup.failureStrategies[0].onFailure.action"
                    ".spec.onRetryFailure.action.type", "invalid_strategy", "PipelineRollback is not allowed")


def test_stage_level_strategy_rules_apply_too(tmp_path: Path) -> None:
    block = """\
    failureStrategies:
      - onFailure:
          errors: [Authentication]
          action:
            type: Abort
      - onFailure:
          errors: [Authentication]
          action:
            type: StageRollback
    """
    text = one_step_pipeline(stage_extra=block)
    path = write(tmp_path, "stage_conflict.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "errors: [Authentication]", 2),
                    f"{STAGE_PATH}.failureStrategies[1].onFailure.errors[0]", "conflicting_strategy",
                    "Authentication is mapped to StageRollback here and to Abort")


def test_same_type_twice_with_identical_action_is_fine(tmp_path: Path) -> None:
    block = """\
    failureStrategies:
      - onFailure:
          errors: [Timeout, Timeout]
          action:
            type: Abort
      - onFailure:
          errors: [Timeout]
          action:
            type: Abort
    """
    path = write(tmp_path, "same.yaml", one_step_pipeline(step_extra=block))
    result = cli("validate", path)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


# ----------------------------------------------------------------------------- child pipelines


def _parent(child: str) -> str:
    return f"""\
    pipeline:
      identifier: parent
      stages:
        - stage:
            identifier: chain
            type: Pipeline
            spec:
              pipeline: {child}
    """


def test_missing_child_pipeline(tmp_path: Path) -> None:
    text = _parent("nowhere")
    path = write(tmp_path, "parent.yaml", text)
    assert_reported(cli("validate", path), path, line_of(text, "pipeline: nowhere"),
                    f"{STAGE_PATH}.spec.pipeline", "missing_child_pipeline", "child pipeline 'nowhere' not found",
                    str(tmp_path))


def test_cycle_of_child_pipelines(tmp_path: Path) -> None:
    parent = write(tmp_path, "parent.yaml", _parent("middle"))
    middle_text = _parent("parent").replace("identifier: parent", "identifier: middle", 1)
    middle = write(tmp_path, "middle.yaml", middle_text)
    assert_reported(cli("validate", parent), middle, line_of(middle_text, "pipeline: parent"),
                    f"{STAGE_PATH}.spec.pipeline", "child_pipeline_cycle", "parent -> middle -> parent")


def test_child_pipeline_found_in_pipelines_dir(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere, "any-name.yml", one_step_pipeline().replace("identifier: demo", "identifier: kid", 1))
    parent = write(tmp_path, "parent.yaml", _parent("kid"))
    assert cli("validate", parent).exit_code == 2
    result = cli("validate", parent, "--pipelines-dir", elsewhere)
    assert result.exit_code == 0, result.output


# ----------------------------------------------------------------------------- JSON, usage, schema


def test_validate_json_shape(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("timeout: 10m", "timeout: 10 minutes")
    path = write(tmp_path, "bad.yaml", text)
    result = cli("validate", path, "--json")
    no_traceback(result)
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert set(document) == {"valid", "errors"}
    assert document["valid"] is False
    assert document["errors"] == [{
        "path": f"{STEP_PATH}.timeout", "line": line_of(text, "timeout: 10 minutes"), "code": "invalid_duration",
        "message": "invalid duration '10 minutes': expected e.g. 30s, 10m, 1h 30m, 1d, 1w", "file": str(path),
    }]


def test_validate_json_valid(tmp_path: Path) -> None:
    path = write(tmp_path, "good.yaml", one_step_pipeline())
    result = cli("validate", path, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "errors": []}


def test_every_issue_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = one_step_pipeline(stage_extra="timeout: later").replace("type: ShellScript", "type: Nope")
    path = write(tmp_path, "many.yaml", text)
    document = json.loads(cli("validate", path, "--json").stdout)
    assert {e["code"] for e in document["errors"]} == {"invalid_duration", "unknown_step_type"}


def test_plan_on_invalid_input_exits_2(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("timeout: 10m", "timeout: 10 minutes")
    path = write(tmp_path, "bad.yaml", text)
    assert_reported(cli("plan", path), path, line_of(text, "timeout: 10 minutes"), f"{STEP_PATH}.timeout",
                    "invalid_duration")
    result = cli("plan", path, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["code"] == "invalid_duration"


@pytest.mark.parametrize("args", [["validate"], ["plan", "--bogus", "x.yaml"], ["no-such-command"], []])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = cli(*args)
    no_traceback(result)
    assert result.exit_code == 2


def test_schema_is_json_schema_of_the_yaml() -> None:
    result = cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) == {"pipeline", "template"}
    stage = schema["$defs"]["Stage"]["properties"]
    assert "failureStrategies" in stage and "delegateSelectors" in stage  # YAML spelling, not snake_case
    assert schema["$defs"]["Pipeline"]["additionalProperties"] is True  # unknown Harness keys are kept


def test_console_script_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    """The installed `orchestrator` entry point itself (main's handler), not only the typer app."""
    text = one_step_pipeline().replace("timeout: 10m", "timeout: 10 minutes")
    path = write(tmp_path, "bad.yaml", text)
    command = [sys.executable, "-c", "from orchestrator.cli.app import main; main()"]
    env = {**os.environ, "COLUMNS": "80"}
    for args in (["validate", str(path)], ["plan", str(path)], ["validate", str(tmp_path / "missing.yaml")],
                 ["validate", "--what"]):
        done = subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
    done = subprocess.run([*command, "validate", str(path)], capture_output=True, text=True, env=env, timeout=60)
    expected = f"{path}:{line_of(text, 'timeout: 10 minutes')}: {STEP_PATH}.timeout: invalid duration"
    assert expected in done.stderr  # long lines are not wrapped at 80 columns
