"""What is wrong with a pipeline, said so a user can find it: file, line, YAML path, code, message.

Every loading and validation step reports :class:`Issue` values instead of raising, so one run
of ``validate`` shows every problem at once; :class:`PipelineLoadError` carries them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

ISSUE_CODES: dict[str, str] = {
    # reading the file
    "unreadable_file": "the file (pipeline, input set or child pipeline) cannot be read",
    "yaml_syntax": "the text is not well-formed YAML",
    "duplicate_key": "a mapping repeats a key",
    "empty_file": "the file holds no document",
    "unknown_root": "the document root is neither `pipeline:` nor `template:`",
    "unsupported_template": "a template whose type is neither Stage nor Pipeline",
    # shape (pydantic model)
    "missing_field": "a required key is absent",
    "wrong_type": "a value has the wrong YAML type (text, number, list, mapping)",
    "invalid_value": "a value is not one of the allowed values or breaks a bound",
    "invalid_identifier": "an identifier does not match ^[A-Za-z_][A-Za-z0-9_]*$",
    "invalid_duration": "a duration is not like 30s, 10m, 1h 30m, 1d",
    "invalid_element": "a list item is not exactly one of step / stepGroup / parallel (or stage / parallel)",
    # structure and semantics
    "duplicate_identifier": "two siblings share an identifier (their node keys would collide)",
    "unknown_step_type": "no executor is registered for the step type (or the step is a template reference)",
    "invalid_step_spec": "the step spec does not fit the executor's spec model",
    "invalid_when": "a `when` uses the status key of the wrong level",
    "invalid_condition": "a `when.condition` does not parse",
    # failure strategies
    "unknown_error_type": "an error type that does not exist",
    "invalid_strategy": "a failure strategy breaks a rule (action spec, nesting, rollback inside rollbackSteps, ...)",
    "conflicting_strategy": "one level maps the same error type to two different actions",
    # chained pipelines
    "missing_child_pipeline": "no pipeline with the referenced identifier in the pipelines directory",
    "ambiguous_child_pipeline": "several files in the pipelines directory carry the referenced identifier",
    "child_pipeline_cycle": "chained pipelines reference each other in a cycle",
    # inputs
    "invalid_inputs": "the input set is not a `pipeline:` document (or a mapping of variable values)",
    "not_an_input": "the input set sets a field that is not a runtime input in the pipeline",
    "unknown_input_target": "the input set names a stage, step, group or variable the pipeline does not have",
    "value_not_allowed": "an input value is outside the field's allowedValues",
    "missing_input": "a runtime input the run needs has no value and no default",
    "plugin_error": "a plugin module (ORCHESTRATOR_PLUGINS) failed to import",
}
"""Every issue code with a one-line description (docs/yaml-reference.md lists the same)."""


@dataclass(frozen=True)
class Issue:
    """One problem, located in the file the user wrote (``line`` is 1-based, None when unknown)."""

    file: str
    line: int | None
    path: str
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form used by ``validate --json``."""
        data = asdict(self)
        return {k: data[k] for k in ("path", "line", "code", "message", "file")}

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path or '<root>'}: {self.message} [{self.code}]"


class PipelineLoadError(Exception):
    """The pipeline (or its inputs or child pipelines) cannot be used; ``issues`` says why."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: list[Issue] = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid pipeline")


def sort_issues(issues: Iterable[Issue], main_file: str | None = None) -> list[Issue]:
    """Unique issues, the main file's first, then by file and line (stable otherwise)."""
    seen: set[Issue] = set()
    unique = [i for i in issues if not (i in seen or seen.add(i))]
    return sorted(unique, key=lambda i: (i.file != main_file, i.file, i.line or 0))
