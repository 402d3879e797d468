"""Reading pipeline documents: line numbers, plain data, roots, templates, sources, error paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.loading import Issue, PipelineLoadError, load_pipeline, validate_pipeline
from orchestrator.loading.pydantic_issues import data_path
from orchestrator.loading.yaml_source import parse_yaml_text
from orchestrator.model import Pipeline
from tests.design_helpers import line_of, one_step_pipeline, write, yaml_text


def test_lines_of_keys_and_list_items() -> None:
    text = one_step_pipeline()
    doc, issues = parse_yaml_text(text, "p.yaml")
    assert issues == [] and doc is not None
    assert doc.lines[("pipeline", "stages", 0)] == line_of(text, "- stage:")
    step = ("pipeline", "stages", 0, "stage", "spec", "execution", "steps", 0, "step")
    assert doc.lines[step] == line_of(text, "- step:")
    assert doc.lines[(*step, "timeout")] == line_of(text, "timeout: 10m")


def test_data_is_plain_and_json_serializable() -> None:
    doc, _ = parse_yaml_text(yaml_text("""\
    a: 1.5
    b: true
    c: 2024-01-02
    d: !custom tagged
    e: |
      block
    f: yes
    """), "x.yaml")
    assert doc is not None
    assert doc.data == {"a": 1.5, "b": True, "c": "2024-01-02", "d": "tagged", "e": "block\n", "f": "yes"}
    assert type(doc.data["a"]) is float and type(doc.data["e"]) is str
    json.dumps(doc.data)


@pytest.mark.parametrize(("text", "code"), [
    ("pipeline: [unclosed\n", "yaml_syntax"),
    ("", "empty_file"),
    ("a: 1\na: 2\n", "duplicate_key"),
    ("- just\n- a list\n", "unknown_root"),
    ("inputSet:\n  pipeline: {}\n", "unknown_root"),
    ("pipeline: {}\ntemplate: {}\n", "unknown_root"),
])
def test_unreadable_documents(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    issues = validate_pipeline(path)
    assert [i.code for i in issues] == [code]
    assert issues[0].file == str(path)


def test_input_set_passed_as_pipeline_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "inputs.yaml", "inputSet:\n  pipeline: {identifier: x}\n")
    assert "pass it with --inputs" in validate_pipeline(path)[0].message


def test_load_error_carries_every_issue(tmp_path: Path) -> None:
    text = one_step_pipeline(stage_extra="timeout: soon").replace("identifier: compile", "identifier: 9lives")
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(PipelineLoadError) as caught:
        load_pipeline(path)
    assert {i.code for i in caught.value.issues} == {"invalid_duration", "invalid_identifier"}
    assert all(isinstance(i, Issue) for i in caught.value.issues)
    assert str(caught.value.issues[0]).startswith(f"{path}:")


def test_pydantic_loc_skips_union_tags() -> None:
    data = {"stages": [{"stage": {"identifier": "s", "failureStrategies": [{"onFailure": {"action": {"type": "Retry"}}}]}}]}
    loc = ("stages", 0, "stage", "stage", "failureStrategies", "list", 0, "onFailure", "action", "Retry", "spec")
    assert data_path(data, loc, ("pipeline",), missing=True) == (
        "pipeline", "stages", 0, "stage", "failureStrategies", 0, "onFailure", "action", "spec")
    assert data_path({"delegateSelectors": 5}, ("delegateSelectors", "list[str]")) == ("delegateSelectors",)


def test_union_alternatives_become_one_issue(tmp_path: Path) -> None:
    text = one_step_pipeline(stage_extra="delegateSelectors: 5")
    path = write(tmp_path, "p.yaml", text)
    issues = validate_pipeline(path)
    assert len(issues) == 1
    assert issues[0].path == "pipeline.stages[0].stage.delegateSelectors"
    assert issues[0].message == "expected a list or a runtime input (<+input>), got 5"


STAGE_TEMPLATE = """\
template:
  name: Golden
  identifier: golden
  type: Stage
  versionLabel: "1"
  spec:
    type: Custom
    spec:
      execution:
        steps:
          - step:
              identifier: hello
              type: ShellScript
              timeout: 1 minute
              spec:
                shell: Bash
                source: {type: Inline, spec: {script: echo hi}}
    failureStrategies:
      - onFailure:
          errors: [AllErrors]
          action:
            type: MarkAsSuccess
"""


def test_stage_template_loads_as_a_one_stage_pipeline(tmp_path: Path) -> None:
    path = write(tmp_path, "template.yaml", STAGE_TEMPLATE.replace("1 minute", "1m"))
    loaded = load_pipeline(path)
    assert loaded.pipeline.identifier == "golden"
    assert [k for k in loaded.plan.order] == ["golden", "golden.hello"]
    assert loaded.plan.nodes["golden"].name == "Golden"
    assert loaded.plan.nodes["golden.hello"].strategies["Unknown"] == {"type": "MarkAsSuccess"}
    assert loaded.plan.nodes["golden.hello"].line == line_of(STAGE_TEMPLATE, "- step:")


def test_issues_in_a_stage_template_point_at_template_paths(tmp_path: Path) -> None:
    path = write(tmp_path, "template.yaml", STAGE_TEMPLATE)
    [issue] = validate_pipeline(path)
    assert issue.code == "invalid_duration"
    assert issue.path == "template.spec.spec.execution.steps[0].step.timeout"
    assert issue.line == line_of(STAGE_TEMPLATE, "timeout: 1 minute")


def test_stage_template_identifier_problems_point_at_the_template_identifier(tmp_path: Path) -> None:
    text = STAGE_TEMPLATE.replace("identifier: golden", "identifier: golden-k8s").replace("1 minute", "1m")
    path = write(tmp_path, "template.yaml", text)
    issues = validate_pipeline(path)
    assert {(i.path, i.line, i.code) for i in issues} == {("template.identifier", 3, "invalid_identifier")}


def test_pipeline_template_loads_its_spec(tmp_path: Path) -> None:
    body = one_step_pipeline().split("pipeline:\n", 1)[1]
    text = "template:\n  identifier: tpl\n  type: Pipeline\n  spec:\n" + "\n".join(
        "  " + line for line in body.splitlines()) + "\n"
    path = write(tmp_path, "pipeline_template.yaml", text)
    loaded = load_pipeline(path)
    assert loaded.pipeline.identifier == "demo"
    broken = write(tmp_path, "broken.yaml", text.replace("timeout: 10m", "timeout: 10"))
    [issue] = validate_pipeline(broken)
    assert issue.path == "template.spec.stages[0].stage.spec.execution.steps[0].step.timeout"


@pytest.mark.parametrize("kind", ["Step", "StepGroup", "SecretManager"])
def test_other_template_types_are_unsupported(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, "t.yaml", f"template:\n  identifier: t\n  type: {kind}\n  spec: {{}}\n")
    [issue] = validate_pipeline(path)
    assert (issue.code, issue.path, issue.line) == ("unsupported_template", "template.type", 3)


def test_dict_and_model_sources(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(one_step_pipeline())
    from_dict = load_pipeline(data)
    assert from_dict.path is None and from_dict.plan.order == ["build", "build.compile"]
    assert load_pipeline(data["pipeline"]).plan.order == from_dict.plan.order  # the body alone works too
    model = Pipeline.model_validate(data["pipeline"])
    from_model = load_pipeline(model)
    assert from_model.plan.nodes["build.compile"] == from_dict.plan.nodes["build.compile"]
    assert data == YAML(typ="safe").load(one_step_pipeline())  # inputs are not modified in place


def test_dict_source_issues_have_paths_but_no_lines() -> None:
    issues = validate_pipeline({"pipeline": {"identifier": "x", "stages": "none"}})
    assert [(i.file, i.line, i.path, i.code) for i in issues] == [("<dict>", None, "pipeline.stages", "wrong_type")]


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("  name: demo\n", "  name: demo\n  orgIdentifier: default\n  tags: {a: b}\n")
    loaded = load_pipeline(write(tmp_path, "p.yaml", text))
    assert loaded.pipeline.model_extra == {"orgIdentifier": "default", "tags": {"a": "b"}}


def test_model_validation_error_is_not_raised_raw(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "pipeline:\n  identifier: x\n")
    with pytest.raises(PipelineLoadError) as caught:
        load_pipeline(path)
    assert not isinstance(caught.value, ValidationError)
    assert [(i.path, i.code) for i in caught.value.issues] == [("pipeline.stages", "missing_field")]
