"""JSON Schema of the pipeline YAML, generated from the pydantic model (keys spelled as in YAML).

Editors use it for completion and inline checks; it describes shape only, so semantic rules
(duplicate identifiers, strategy rules, step types) are still ``orchestrator validate``'s job.
"""

from __future__ import annotations

from typing import Any

from orchestrator.model import PipelineFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def pipeline_json_schema() -> dict[str, Any]:
    schema = PipelineFile.model_json_schema(by_alias=True, mode="validation")
    schema["title"] = "Pipeline orchestrator pipeline file"
    schema["description"] = (
        "A Harness-style pipeline (`pipeline:`) or a Stage/Pipeline template (`template:`). Unknown keys are "
        "accepted and kept. Run `orchestrator validate FILE` for the rules a schema cannot express."
    )
    return {"$schema": SCHEMA_DIALECT, **schema}
