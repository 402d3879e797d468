"""Chained pipelines (`type: Pipeline` stages): lookup by identifier, recursion, cycles, inputs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.loading import PipelineLoadError, load_pipeline, validate_pipeline
from tests.design_helpers import line_of, write


def chain(identifier: str, *children: str, variables: str = "") -> str:
    stages = "".join(f"""\
    - stage:
        identifier: to_{child}
        type: Pipeline
        spec:
          pipeline: {child}
""" for child in children)
    own = """\
    - stage:
        identifier: work
        type: Custom
        spec:
          execution:
            steps:
              - step:
                  identifier: echo
                  type: ShellScript
                  spec: {shell: Bash, source: {type: Inline, spec: {script: echo hi}}}
"""
    return f"pipeline:\n  identifier: {identifier}\n{variables}  stages:\n{own}{stages}"


def test_children_and_grandchildren_are_compiled_into_the_plan(tmp_path: Path) -> None:
    top = write(tmp_path, "top.yaml", chain("top", "middle"))
    write(tmp_path, "m.yml", chain("middle", "leaf"))
    write(tmp_path, "leaf.yaml", chain("leaf"))
    write(tmp_path, "unrelated.yaml", "not: [a, pipeline\n")  # unparsable files are ignored by the scan
    loaded = load_pipeline(top)
    assert set(loaded.plan.children) == {"middle", "leaf"}  # flattened
    assert set(loaded.plan.children["middle"].children) == {"leaf"}  # a child's plan knows its own children
    assert loaded.plan.children["leaf"].source == str(tmp_path / "leaf.yaml")
    assert loaded.plan.nodes["to_middle"].child_pipeline == "middle"
    assert set(loaded.children) == {"middle", "leaf"}
    assert loaded.children["middle"].path == tmp_path / "m.yml"


def test_missing_grandchild_is_reported_in_the_child_file(tmp_path: Path) -> None:
    top = write(tmp_path, "top.yaml", chain("top", "middle"))
    middle_text = chain("middle", "ghost")
    middle = write(tmp_path, "middle.yaml", middle_text)
    [issue] = validate_pipeline(top)
    assert (issue.file, issue.line, issue.path, issue.code) == (
        str(middle), line_of(middle_text, "pipeline: ghost"), "pipeline.stages[1].stage.spec.pipeline",
        "missing_child_pipeline")


def test_child_file_problems_are_reported_with_the_child_file(tmp_path: Path) -> None:
    top = write(tmp_path, "top.yaml", chain("top", "kid"))
    kid_text = chain("kid").replace("type: ShellScript", "type: Mystery")
    kid = write(tmp_path, "kid.yaml", kid_text)
    [issue] = validate_pipeline(top)
    assert (issue.file, issue.line, issue.code) == (str(kid), line_of(kid_text, "type: Mystery"), "unknown_step_type")


@pytest.mark.parametrize("length", [1, 2, 3])
def test_cycles_of_any_length(tmp_path: Path, length: int) -> None:
    names = [f"p{i}" for i in range(length)]
    for index, name in enumerate(names):
        write(tmp_path, f"{name}.yaml", chain(name, names[(index + 1) % length]))
    issues = validate_pipeline(tmp_path / "p0.yaml")
    assert [i.code for i in issues] == ["child_pipeline_cycle"]
    expected = " -> ".join([*names, "p0"])
    assert issues[0].message == f"child pipeline cycle: {expected}"
    assert issues[0].file == str(tmp_path / f"{names[-1]}.yaml")


def test_diamond_is_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "top.yaml", chain("top", "left", "right"))
    write(tmp_path, "left.yaml", chain("left", "base"))
    write(tmp_path, "right.yaml", chain("right", "base"))
    write(tmp_path, "base.yaml", chain("base"))
    assert validate_pipeline(tmp_path / "top.yaml") == []


def test_two_files_with_one_identifier_are_ambiguous(tmp_path: Path) -> None:
    top = write(tmp_path, "top.yaml", chain("top", "kid"))
    write(tmp_path, "kid1.yaml", chain("kid"))
    write(tmp_path, "kid2.yaml", chain("kid"))
    [issue] = validate_pipeline(top)
    assert issue.code == "ambiguous_child_pipeline" and "kid1.yaml" in issue.message and "kid2.yaml" in issue.message


def test_pipelines_dir_overrides_the_parent_directory(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    write(library, "kid.yaml", chain("kid"))
    top = write(tmp_path, "top.yaml", chain("top", "kid"))
    assert [i.code for i in validate_pipeline(top)] == ["missing_child_pipeline"]
    assert validate_pipeline(top, pipelines_dir=library) == []
    assert "is not a directory" in validate_pipeline(top, pipelines_dir=tmp_path / "nope")[0].message


def test_the_directory_scan_notices_new_files(tmp_path: Path) -> None:
    top = write(tmp_path, "top.yaml", chain("top", "late"))
    assert [i.code for i in validate_pipeline(top)] == ["missing_child_pipeline"]
    time.sleep(0.01)
    write(tmp_path, "late.yaml", chain("late"))
    assert validate_pipeline(top) == []


CHILD_WITH_INPUTS = """\
pipeline:
  identifier: kid
  variables:
    - name: version
      type: String
      value: <+input>.allowedValues(v1,v2)
    - name: fixed
      type: String
      value: constant
  stages:
    - stage:
        identifier: work
        type: Custom
        spec:
          execution:
            steps:
              - step:
                  identifier: echo
                  type: ShellScript
                  spec: {shell: Bash, source: {type: Inline, spec: {script: echo <+pipeline.variables.version>}}}
"""


def _parent_passing(inputs: str) -> str:
    return f"""\
pipeline:
  identifier: top
  stages:
    - stage:
        identifier: to_kid
        type: Pipeline
        spec:
          pipeline: kid
          inputs:
            identifier: kid
            variables:
{inputs}
"""


def test_stage_inputs_are_checked_against_the_child(tmp_path: Path) -> None:
    write(tmp_path, "kid.yaml", CHILD_WITH_INPUTS)
    text = _parent_passing("              - name: version\n                value: v3\n"
                           "              - name: fixed\n                value: changed\n")
    top = write(tmp_path, "top.yaml", text)
    issues = validate_pipeline(top)
    assert sorted((i.file, i.line, i.path, i.code) for i in issues) == [
        (str(top), line_of(text, "value: v3"), "pipeline.stages[0].stage.spec.inputs.variables[0].value",
         "value_not_allowed"),
        (str(top), line_of(text, "value: changed"), "pipeline.stages[0].stage.spec.inputs.variables[1].value",
         "not_an_input"),
    ]


def test_child_inputs_given_by_the_stage_satisfy_require_inputs(tmp_path: Path) -> None:
    write(tmp_path, "kid.yaml", CHILD_WITH_INPUTS)
    top = write(tmp_path, "top.yaml", _parent_passing("              - name: version\n                value: v2\n"))
    loaded = load_pipeline(top, require_inputs=True)
    assert loaded.plan.nodes["to_kid"].child_inputs == {"identifier": "kid", "variables": [{"name": "version", "value": "v2"}]}
    assert loaded.plan.children["kid"].variables["version"] is None  # the child as written; the stage passes v2

    unfilled = write(tmp_path, "top2.yaml", _parent_passing("              - name: fixed\n                value: constant\n")
                     .replace("identifier: top", "identifier: top2"))
    with pytest.raises(PipelineLoadError) as caught:
        load_pipeline(unfilled, require_inputs=True)
    [issue] = caught.value.issues
    assert (issue.code, issue.file, issue.path) == ("missing_input", str(tmp_path / "kid.yaml"), "pipeline.variables[0].value")


def test_pipeline_stage_needs_a_child_reference(tmp_path: Path) -> None:
    text = "pipeline:\n  identifier: top\n  stages:\n    - stage:\n        identifier: s\n        type: Pipeline\n        spec: {}\n"
    [issue] = validate_pipeline(write(tmp_path, "top.yaml", text))
    assert (issue.code, issue.path, issue.line) == ("missing_field", "pipeline.stages[0].stage.spec.pipeline", 7)
