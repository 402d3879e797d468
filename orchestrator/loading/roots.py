"""The document root: a ``pipeline:`` file, or a Stage/Pipeline ``template:`` loaded as a pipeline.

Everything downstream sees ``{"pipeline": {...}}``; a template's rewrites make issues point at
``template.spec...`` lines rather than at paths that exist only in the rewritten data.
"""

from __future__ import annotations

from typing import Any

from orchestrator.loading.issues import Issue
from orchestrator.loading.origin import Origin
from orchestrator.loading.paths import line_of
from orchestrator.loading.yaml_source import YamlDocument

STAGE = ("pipeline", "stages", 0, "stage")


def pipeline_root(doc: YamlDocument) -> tuple[dict[str, Any] | None, Origin, list[Issue]]:
    """``{"pipeline": ...}`` built from the document, the origin mapping it back, and any issues."""
    origin = Origin(doc.file, doc.lines)
    data = doc.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return None, origin, [_root_issue(doc, f"the document is {kind}: expected a mapping with `pipeline:` at the top")]
    has_pipeline, has_template = "pipeline" in data, "template" in data
    if has_pipeline and has_template:
        return None, origin, [_root_issue(doc, "the document has both `pipeline:` and `template:`: keep one")]
    if has_pipeline:
        return {"pipeline": data["pipeline"]}, origin, []
    if has_template:
        return _from_template(doc, data["template"], origin)
    found = ", ".join(str(k) for k in list(data)[:6]) or "nothing"
    hint = ""
    if "inputSet" in data:
        hint = " (this is an input set: pass it with --inputs)"
    elif {"stages", "stage", "tags"} & set(data):
        hint = " (this looks like a fragment of a pipeline)"
    return None, origin, [_root_issue(doc, f"the document root must be `pipeline:` or `template:`; found {found}{hint}")]


def _root_issue(doc: YamlDocument, message: str) -> Issue:
    first_key = next(iter(doc.data), None) if isinstance(doc.data, dict) else None
    line = doc.lines.get((first_key,), 1) if first_key is not None else 1
    return Issue(doc.file, line, "", "unknown_root", message)


def _from_template(doc: YamlDocument, template: Any, origin: Origin) -> tuple[dict[str, Any] | None, Origin, list[Issue]]:
    def issue(path: tuple, code: str, message: str) -> Issue:
        return Issue(doc.file, line_of(doc.lines, path), ".".join(path), code, message)

    if not isinstance(template, dict):
        return None, origin, [issue(("template",), "wrong_type", "expected a mapping (key: value) under `template:`")]
    kind = template.get("type")
    spec = template.get("spec")
    if kind not in ("Stage", "Pipeline"):
        if kind is None:
            return None, origin, [issue(("template",), "missing_field", "missing required key 'type' (Stage or Pipeline)")]
        return None, origin, [issue(("template", "type"), "unsupported_template",
                                    f"template type '{kind}' is not supported: only Stage and Pipeline templates "
                                    "load (step and step group templates are not resolved)")]
    if not isinstance(spec, dict):
        code, what = ("missing_field", "missing required key 'spec'") if spec is None else (
            "wrong_type", "expected a mapping (key: value) under `spec:`")
        return None, origin, [issue(("template", "spec") if spec is not None else ("template",), code, what)]
    named = {k: template[k] for k in ("identifier", "name") if template.get(k) is not None}
    if kind == "Stage":
        stage = {**spec, **named}
        pipeline = {**named, "stages": [{"stage": stage}]}
        origin.rewrites = [
            (("pipeline",), ("template",)),
            (("pipeline", "stages"), ("template", "spec")),
            (STAGE[:3], ("template", "spec")),
            (STAGE, ("template", "spec")),
            ((*STAGE, "identifier"), ("template", "identifier")),
            ((*STAGE, "name"), ("template", "name")),
        ]
    else:
        pipeline = {**named, **spec}
        origin.rewrites = [(("pipeline",), ("template", "spec"))]
        origin.rewrites += [(("pipeline", k), ("template", k)) for k in named if k not in spec]
    return {"pipeline": pipeline}, origin, []
