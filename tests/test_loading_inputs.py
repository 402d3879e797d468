"""Input sets and runtime inputs (SPEC §9, §10): filling, defaults, allowedValues, require_inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.loading import PipelineLoadError, load_pipeline, parse_runtime_input, validate_pipeline
from tests.design_helpers import cli, line_of, write

PIPELINE = """\
pipeline:
  identifier: deploy
  variables:
    - name: env
      type: String
      value: <+input>.allowedValues(dev,prod)
    - name: tag
      type: String
      value: <+input>.default(latest)
    - name: fixed
      type: String
      value: x
  timeout: <+input>.default(1h)
  stages:
    - stage:
        identifier: build
        type: Custom
        failureStrategies: <+input>
        variables:
          - name: region
            type: String
            value: <+input>
        spec:
          service: <+input>
          execution:
            steps:
              - step:
                  identifier: compile
                  type: ShellScript
                  timeout: <+input>
                  when:
                    stageStatus: Success
                    condition: <+input>
                  spec:
                    shell: Bash
                    source:
                      type: Inline
                      spec:
                        script: <+input>
              - stepGroup:
                  identifier: checks
                  steps:
                    - parallel:
                        - step:
                            identifier: lint
                            type: ShellScript
                            spec:
                              shell: Bash
                              source: {type: Inline, spec: {script: <+input>.default(echo lint)}}
    - parallel:
        - stage:
            identifier: publish
            type: Custom
            spec:
              execution:
                steps:
                  - step:
                      identifier: push
                      type: ShellScript
                      spec:
                        shell: Bash
                        source: {type: Inline, spec: {script: echo push}}
                      failureStrategies: <+input>
"""

FULL_INPUTS = """\
pipeline:
  identifier: deploy
  variables:
    - name: env
      type: String
      value: prod
  stages:
    - stage:
        identifier: build
        type: Custom
        failureStrategies:
          - onFailure:
              errors: [Timeout]
              action:
                type: Abort
        variables:
          - name: region
            value: eu-west-1
        spec:
          execution:
            steps:
              - step:
                  identifier: compile
                  type: ShellScript
                  timeout: 5m
                  when:
                    condition: <+pipeline.variables.env> == "prod"
                  spec:
                    source:
                      spec:
                        script: make
"""


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    return write(tmp_path, "deploy.yaml", PIPELINE)


def _inputs(tmp_path: Path, text: str) -> Path:
    return write(tmp_path, "inputs.yaml", text)


def test_runtime_input_forms() -> None:
    assert parse_runtime_input("x") is None
    assert parse_runtime_input("<+input>").default is None
    assert parse_runtime_input("<+input>.default(10m)").default == "10m"
    spec = parse_runtime_input("<+input>.default('a').allowedValues(a, 'b,c', d)")
    assert spec.default == "a" and spec.allowed == ("a", "b,c", "d")
    assert parse_runtime_input("<+input>.allowedValues(['p1', 'p2'])").allowed == ("p1", "p2")
    assert parse_runtime_input("<+input>.allowedValues(jexl(${x} == 'a' ? 'b' : 'c'))").allowed is None


def test_input_set_fills_runtime_inputs(tmp_path: Path, pipeline: Path) -> None:
    loaded = load_pipeline(pipeline, inputs=_inputs(tmp_path, FULL_INPUTS), require_inputs=True)
    plan = loaded.plan
    assert plan.variables == {"env": "prod", "tag": "latest", "fixed": "x"}  # tag: its default
    assert plan.timeout == 3600  # pipeline timeout default
    assert plan.nodes["build"].variables == {"region": "eu-west-1"}
    compile_step = plan.nodes["build.compile"]
    assert compile_step.timeout == 300
    assert compile_step.condition == '<+pipeline.variables.env> == "prod"'
    assert compile_step.spec["source"]["spec"]["script"] == "make"
    assert compile_step.strategies == {"Timeout": {"type": "Abort"}}  # failureStrategies: <+input> filled
    assert plan.nodes["build.checks.lint"].spec["source"]["spec"]["script"] == "echo lint"


def test_unfilled_failure_strategies_mean_no_strategy(tmp_path: Path, pipeline: Path) -> None:
    loaded = load_pipeline(pipeline, inputs=_inputs(tmp_path, FULL_INPUTS), require_inputs=True)
    assert loaded.plan.nodes["publish.push"].strategies == {}


def test_value_outside_allowed_values(tmp_path: Path, pipeline: Path) -> None:
    text = FULL_INPUTS.replace("value: prod", "value: staging")
    inputs = _inputs(tmp_path, text)
    issues = validate_pipeline(pipeline, inputs=inputs)
    assert [(i.file, i.line, i.path, i.code) for i in issues] == [
        (str(inputs), line_of(text, "value: staging"), "pipeline.variables[0].value", "value_not_allowed")]
    assert "'staging' is not allowed" in issues[0].message and "dev, prod" in issues[0].message


def test_only_runtime_inputs_may_be_set(tmp_path: Path, pipeline: Path) -> None:
    text = FULL_INPUTS.replace("        type: Custom\n", "        type: Custom\n        timeout: 2h\n")
    inputs = _inputs(tmp_path, text)
    issues = validate_pipeline(pipeline, inputs=inputs)
    assert [(i.file, i.line, i.path, i.code) for i in issues] == [
        (str(inputs), line_of(text, "timeout: 2h"), "pipeline.stages[0].stage.timeout", "not_an_input")]
    assert "the pipeline has no 'timeout' at pipeline.stages[0].stage" in issues[0].message


def test_fixed_value_cannot_be_overridden(tmp_path: Path, pipeline: Path) -> None:
    text = FULL_INPUTS.replace("      value: prod\n", "      value: prod\n    - name: fixed\n      value: y\n")
    inputs = _inputs(tmp_path, text)
    [issue] = validate_pipeline(pipeline, inputs=inputs)
    assert (issue.code, issue.path, issue.line) == ("not_an_input", "pipeline.variables[1].value", line_of(text, "value: y"))
    assert "pipeline.variables[2].value is not a runtime input" in issue.message


@pytest.mark.parametrize(("old", "new", "needle", "what"), [
    ("identifier: compile", "identifier: compyle", "identifier: compyle", "no step 'compyle'"),
    ("identifier: build", "identifier: biuld", "identifier: biuld", "no stage 'biuld'"),
    ("name: env", "name: environment", "name: environment", "no variable with name 'environment'"),
])
def test_unknown_targets(tmp_path: Path, pipeline: Path, old: str, new: str, needle: str, what: str) -> None:
    text = FULL_INPUTS.replace(old, new)
    inputs = _inputs(tmp_path, text)
    issues = [i for i in validate_pipeline(pipeline, inputs=inputs) if i.code == "unknown_input_target"]
    assert len(issues) == 1
    assert issues[0].file == str(inputs) and issues[0].line == line_of(text, needle)
    assert what in issues[0].message


def test_input_set_for_another_pipeline(tmp_path: Path, pipeline: Path) -> None:
    inputs = _inputs(tmp_path, FULL_INPUTS.replace("identifier: deploy", "identifier: other"))
    [issue] = validate_pipeline(pipeline, inputs=inputs)
    assert issue.code == "invalid_inputs" and "'other', not 'deploy'" in issue.message


def test_errors_in_filled_values_point_at_the_input_set(tmp_path: Path, pipeline: Path) -> None:
    text = FULL_INPUTS.replace("type: Abort", "type: Abrot").replace("timeout: 5m", "timeout: 5 min")
    inputs = _inputs(tmp_path, text)
    issues = validate_pipeline(pipeline, inputs=inputs)
    assert sorted((i.file, i.line, i.path, i.code) for i in issues) == sorted([
        (str(inputs), line_of(text, "action:"), "pipeline.stages[0].stage.failureStrategies[0].onFailure.action",
         "invalid_strategy"),
        (str(inputs), line_of(text, "timeout: 5 min"),
         "pipeline.stages[0].stage.spec.execution.steps[0].step.timeout", "invalid_duration"),
    ])


def test_parallel_stages_and_nested_steps_are_matched_by_identifier(tmp_path: Path, pipeline: Path) -> None:
    extra = """\
    - parallel:
        - stage:
            identifier: publish
            spec:
              execution:
                steps:
                  - step:
                      identifier: push
                      failureStrategies:
                        - onFailure:
                            errors: [AllErrors]
                            action: {type: Ignore}
    - stage:
        identifier: build
        spec:
          execution:
            steps:
              - stepGroup:
                  identifier: checks
                  steps:
                    - step:
                        identifier: lint
                        spec:
                          source: {spec: {script: ruff check}}
"""
    inputs = _inputs(tmp_path, FULL_INPUTS + extra)
    loaded = load_pipeline(pipeline, inputs=inputs, require_inputs=True)
    assert loaded.plan.nodes["publish.push"].strategies["Unknown"] == {"type": "Ignore"}
    assert loaded.plan.nodes["build.checks.lint"].spec["source"]["spec"]["script"] == "ruff check"


def test_harness_input_set_root_is_accepted(tmp_path: Path, pipeline: Path) -> None:
    body = "\n".join("  " + line for line in FULL_INPUTS.splitlines())
    inputs = _inputs(tmp_path, "inputSet:\n  identifier: prod_inputs\n  orgIdentifier: default\n" + body + "\n")
    assert load_pipeline(pipeline, inputs=inputs, require_inputs=True).plan.variables["env"] == "prod"


def test_input_file_of_the_wrong_shape(tmp_path: Path, pipeline: Path) -> None:
    inputs = _inputs(tmp_path, "env: prod\n")
    [issue] = validate_pipeline(pipeline, inputs=inputs)
    assert (issue.file, issue.code) == (str(inputs), "invalid_inputs")
    assert "the pipeline's shape" in issue.message


def test_flat_dict_means_pipeline_variables(pipeline: Path) -> None:
    loaded = load_pipeline(pipeline, inputs={"env": "dev", "tag": "v2"})
    assert loaded.plan.variables == {"env": "dev", "tag": "v2", "fixed": "x"}
    [issue] = validate_pipeline(pipeline, inputs={"env": "qa"})
    assert (issue.file, issue.path, issue.code) == ("<inputs>", "env", "value_not_allowed")


def test_dict_of_input_set_shape(pipeline: Path) -> None:
    inputs = {"pipeline": {"identifier": "deploy", "variables": [{"name": "env", "value": "dev"}]}}
    assert load_pipeline(pipeline, inputs=inputs).plan.variables["env"] == "dev"


def test_require_inputs_reports_every_needed_unfilled_input(pipeline: Path) -> None:
    assert validate_pipeline(pipeline) == []  # runtime inputs are fine for validate
    with pytest.raises(PipelineLoadError) as caught:
        load_pipeline(pipeline, require_inputs=True)
    found = {(i.path, i.line) for i in caught.value.issues}
    assert {i.code for i in caught.value.issues} == {"missing_input"}
    step = "pipeline.stages[0].stage.spec.execution.steps[0].step"
    assert found == {
        ("pipeline.variables[0].value", line_of(PIPELINE, "allowedValues(dev,prod)")),
        ("pipeline.stages[0].stage.variables[0].value", line_of(PIPELINE, "value: <+input>", 3)),
        (f"{step}.timeout", line_of(PIPELINE, "timeout: <+input>", 2)),
        (f"{step}.when.condition", line_of(PIPELINE, "condition: <+input>")),
        (f"{step}.spec.source.spec.script", line_of(PIPELINE, "script: <+input>")),
    }  # not spec.service (not acted on), not failureStrategies, not the defaulted ones


def test_run_style_validate_flag_on_the_cli(tmp_path: Path, pipeline: Path) -> None:
    assert cli("validate", pipeline).exit_code == 0
    result = cli("validate", pipeline, "--require-inputs")
    assert result.exit_code == 2 and "[missing_input]" in result.output
    result = cli("validate", pipeline, "--inputs", _inputs(tmp_path, FULL_INPUTS), "--require-inputs")
    assert result.exit_code == 0, result.output


def test_plan_with_inputs_on_the_cli(tmp_path: Path, pipeline: Path) -> None:
    import json

    result = cli("plan", pipeline, "--inputs", _inputs(tmp_path, FULL_INPUTS), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["nodes"]["build.compile"]["strategies"] == {"Timeout": {"type": "Abort"}}
