"""The one entry point for turning a pipeline (file, dict or model) into a validated, compiled plan.

``load_pipeline`` reads the document, fills runtime inputs from an input set, validates shape
(pydantic) and semantics, resolves chained child pipelines (recursively, with cycle detection)
and compiles the plan. Everything wrong, in every file involved, is reported at once.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrator.loading.input_sets import InputSet, InputsSource, apply_input_set, fill_defaults, read_input_set
from orchestrator.loading.issues import Issue, PipelineLoadError, sort_issues
from orchestrator.loading.origin import Origin, SourceMap
from orchestrator.loading.paths import YamlPath
from orchestrator.loading.pipeline_index import pipelines_in
from orchestrator.loading.pydantic_issues import validation_issues
from orchestrator.loading.required_inputs import missing_input_issues
from orchestrator.loading.roots import pipeline_root
from orchestrator.loading.semantics import semantic_issues
from orchestrator.loading.structure import Element, RollbackSection, walk
from orchestrator.loading.yaml_source import YamlDocument, read_yaml_file
from orchestrator.model import Pipeline
from orchestrator.plan.compile import compile_plan
from orchestrator.plan.model import Plan

PipelineSource = str | Path | Mapping[str, Any] | Pipeline


@dataclass
class LoadedPipeline:
    """A valid pipeline: its compiled plan (with child plans), the model, and the file it came from."""

    plan: Plan
    pipeline: Pipeline
    path: Path | None
    children: dict[str, "LoadedPipeline"] = field(default_factory=dict)
    """Every chained pipeline reachable from this one, by identifier."""
    warnings: list[Issue] = field(default_factory=list)
    """Issues tolerated by the caller (``allow_unknown_step_types``): the plan is shown, not runnable."""


@dataclass
class _Document:
    file: str
    path: Path | None
    data: dict[str, Any] | None = None
    source: SourceMap | None = None
    model: Pipeline | None = None
    issues: list[Issue] = field(default_factory=list)
    children: dict[str, "_Document"] = field(default_factory=dict)
    """Direct children by identifier."""
    unfilled: dict[str, Any] | None = None
    """``data`` before ``<+input>.default(x)`` fields were filled: what a parent's input set applies to."""

    @property
    def identifier(self) -> str | None:
        pipeline = (self.data or {}).get("pipeline")
        value = pipeline.get("identifier") if isinstance(pipeline, dict) else None
        return value if isinstance(value, str) else None


def _strategy_code(path: YamlPath, code: str) -> str:
    """Shape errors inside failureStrategies are strategy errors (a bad duration stays specific)."""
    return "invalid_strategy" if "failureStrategies" in path and code != "invalid_duration" else code


def _read(source: PipelineSource) -> tuple[YamlDocument | None, Path | None, list[Issue]]:
    if isinstance(source, Pipeline):
        data = {"pipeline": source.model_dump(mode="json", by_alias=True, exclude_none=True)}
        return YamlDocument(f"<pipeline {source.identifier}>", data), None, []
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
        if "pipeline" not in data and "template" not in data and "stages" in data:
            data = {"pipeline": data}
        return YamlDocument("<dict>", data), None, []
    path = Path(source)
    doc, issues = read_yaml_file(path, str(source))
    return doc, path, issues


def _load_document(source: PipelineSource, inputs: InputsSource | None, require_inputs: bool) -> _Document:
    doc, path, issues = _read(source)
    label = doc.file if doc is not None else str(source)
    document = _Document(label, path, issues=list(issues))
    if doc is None:
        return document
    data, origin, root_issues = pipeline_root(doc)
    document.issues += root_issues
    if data is None:
        return document
    document.data, document.source = data, SourceMap(origin)
    document.unfilled = copy.deepcopy(data)
    if inputs is not None:
        input_set, input_issues = read_input_set(inputs)
        document.issues += input_issues
        if input_set is not None:
            document.issues += apply_input_set(data, input_set, document.source)
    _check(document, require_inputs)
    return document


def _check(document: _Document, require_inputs: bool) -> None:
    """Defaults, shape, semantics and (for runs) required inputs of a document's data."""
    assert document.data is not None and document.source is not None
    fill_defaults(document.data)
    body = document.data["pipeline"]
    try:
        document.model = Pipeline.model_validate(body)
    except ValidationError as exc:
        document.issues += validation_issues(exc, body, ("pipeline",), document.source, code_for=_strategy_code)
    document.issues += semantic_issues(document.data, document.source)
    if require_inputs:
        document.issues += missing_input_issues(document.data, document.source)


class _ChildResolver:
    """Loads the chained pipelines of a document tree, each file once, detecting cycles."""

    def __init__(self, pipelines_dir: Path | None, require_inputs: bool) -> None:
        self.pipelines_dir = pipelines_dir
        self.require_inputs = require_inputs
        self.by_path: dict[Path, _Document] = {}
        self.done: set[Path] = set()
        self.issues: list[Issue] = []

    def resolve(self, document: _Document, chain: list[str]) -> None:
        assert document.data is not None and document.source is not None
        for item in walk(document.data):
            if isinstance(item, Element) and item.kind == "stage" and item.body.get("type") == "Pipeline":
                self._stage(document, item, chain)

    def _stage(self, parent: _Document, stage: Element, chain: list[str]) -> None:
        assert parent.source is not None
        spec = stage.body.get("spec")
        reference = spec.get("pipeline") if isinstance(spec, dict) else None
        if not isinstance(reference, str) or not reference:
            return  # reported by semantics
        at = (*stage.path, "spec", "pipeline")
        if reference in chain:
            cycle = " -> ".join([*chain[chain.index(reference):], reference])
            self.issues.append(parent.source.issue(at, "child_pipeline_cycle", f"child pipeline cycle: {cycle}"))
            return
        directory = self.pipelines_dir or (parent.path.parent if parent.path else Path.cwd())
        candidates = pipelines_in(directory) if directory.is_dir() else {}
        files = candidates.get(reference, [])
        if not files:
            where = f"in {directory}" if directory.is_dir() else f"({directory} is not a directory)"
            self.issues.append(parent.source.issue(
                at, "missing_child_pipeline",
                f"child pipeline '{reference}' not found {where}: no *.yaml/*.yml file there has "
                f"pipeline.identifier '{reference}' (use --pipelines-dir to look elsewhere)"))
            return
        if len(files) > 1:
            self.issues.append(parent.source.issue(
                at, "ambiguous_child_pipeline",
                f"child pipeline '{reference}' is declared by several files: {', '.join(map(str, files))}"))
            return
        child = self._document(files[0])
        parent.children[reference] = child
        if child.data is None:
            return
        self._stage_inputs(parent, stage, child)
        resolved = files[0].resolve()
        if resolved not in self.done:
            self.done.add(resolved)
            self.resolve(child, [*chain, reference])

    def _document(self, path: Path) -> _Document:
        resolved = path.resolve()
        if resolved not in self.by_path:
            self.by_path[resolved] = _load_document(path, None, require_inputs=False)
        return self.by_path[resolved]

    def _stage_inputs(self, parent: _Document, stage: Element, child: _Document) -> None:
        """Check the inputs a Pipeline stage passes to its child as an input set of the child."""
        assert parent.source is not None and child.data is not None and child.source is not None
        spec = stage.body.get("spec")
        inputs = spec.get("inputs") if isinstance(spec, dict) else None
        data = copy.deepcopy(child.unfilled if child.unfilled is not None else child.data)
        source = SourceMap(child.source.main, list(child.source.overlays))
        if isinstance(inputs, dict):
            inputs_path = parent.source.main.source_path((*stage.path, "spec", "inputs"))
            origin = Origin(parent.source.main.file, parent.source.main.lines, [(("pipeline",), inputs_path)])
            self.issues += apply_input_set(data, InputSet({"pipeline": inputs}, origin), source)
        if self.require_inputs:
            fill_defaults(data)
            self.issues += missing_input_issues(data, source)


def _node_lines(document: _Document) -> dict[str, int]:
    assert document.data is not None and document.source is not None
    lines: dict[str, int] = {}
    for item in walk(document.data):
        key = item.key if isinstance(item, (Element, RollbackSection)) else None
        if key is None:
            continue
        file, _, line = document.source.locate(item.path)
        if line is not None and file == document.file:
            lines[key] = line
    return lines


def _compile(document: _Document, memo: dict[int, LoadedPipeline]) -> LoadedPipeline:
    """Compile bottom-up; each plan's ``children`` holds every pipeline reachable from it."""
    if id(document) in memo:
        return memo[id(document)]
    assert document.model is not None
    loaded_children: dict[str, LoadedPipeline] = {}
    for identifier, child in document.children.items():
        loaded = _compile(child, memo)
        loaded_children[identifier] = loaded
        loaded_children.update(loaded.children)
    plan = compile_plan(
        document.model,
        children={k: v.plan for k, v in loaded_children.items()},
        source=str(document.path) if document.path else None,
        lines=_node_lines(document),
    )
    memo[id(document)] = LoadedPipeline(plan, document.model, document.path, loaded_children)
    return memo[id(document)]


def _collect(document: _Document, seen: set[int]) -> list[Issue]:
    if id(document) in seen:
        return []
    seen.add(id(document))
    issues = list(document.issues)
    for child in document.children.values():
        issues += _collect(child, seen)
    return issues


def _load(source: PipelineSource, inputs: InputsSource | None, pipelines_dir: str | Path | None,
          require_inputs: bool) -> tuple[_Document, list[Issue]]:
    document = _load_document(source, inputs, require_inputs)
    resolver = _ChildResolver(Path(pipelines_dir) if pipelines_dir is not None else None, require_inputs)
    if document.data is not None:
        if document.path is not None:
            resolver.done.add(document.path.resolve())
        resolver.resolve(document, [document.identifier or "?"])
    issues = sort_issues([*_collect(document, set()), *resolver.issues], document.file)
    return document, issues


def validate_pipeline(source: PipelineSource, *, inputs: InputsSource | None = None,
                      pipelines_dir: str | Path | None = None, require_inputs: bool = False) -> list[Issue]:
    """Every issue with the pipeline, its inputs and its child pipelines (empty: valid)."""
    return _load(source, inputs, pipelines_dir, require_inputs)[1]


def load_pipeline(source: PipelineSource, *, inputs: InputsSource | None = None,
                  pipelines_dir: str | Path | None = None, require_inputs: bool = False,
                  allow_unknown_step_types: bool = False) -> LoadedPipeline:
    """Load, validate and compile a pipeline; raise :class:`PipelineLoadError` with all issues.

    ``source``: a YAML file path, a dict (``{"pipeline": ...}``) or a :class:`Pipeline` model.
    ``inputs``: an input-set file path, an input-set dict, or a flat ``{variable: value}`` dict.
    ``pipelines_dir``: where ``type: Pipeline`` stages find their child pipelines by identifier
    (default: the directory of the file that references them; the working directory for dicts).
    ``require_inputs``: runtime inputs the run needs must be filled (what ``run`` uses).
    ``allow_unknown_step_types``: compile anyway when the only issues are ``unknown_step_type``
    (``plan`` shows a real Harness file's strategies before every executor exists); they are
    returned as ``warnings``.
    """
    document, issues = _load(source, inputs, pipelines_dir, require_inputs)
    tolerated = [i for i in issues if allow_unknown_step_types and i.code == "unknown_step_type"]
    blocking = [i for i in issues if i not in tolerated]
    if blocking or document.model is None:
        raise PipelineLoadError(blocking or [Issue(document.file, None, "", "invalid_value", "the pipeline did not load")])
    loaded = _compile(document, {})
    loaded.warnings = tolerated
    return loaded
