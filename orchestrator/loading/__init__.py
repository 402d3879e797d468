"""Loading pipelines: YAML with line numbers, templates, input sets, validation, child pipelines.

The rest of the code uses :func:`load_pipeline` (raises :class:`PipelineLoadError` carrying every
:class:`Issue`) or :func:`validate_pipeline` (returns the issues).
"""

from orchestrator.loading.input_sets import InputSet, apply_input_set, read_input_set
from orchestrator.loading.issues import ISSUE_CODES, Issue, PipelineLoadError
from orchestrator.loading.loader import LoadedPipeline, PipelineSource, load_pipeline, validate_pipeline
from orchestrator.loading.runtime_inputs import RuntimeInput, parse_runtime_input

__all__ = [
    "ISSUE_CODES", "InputSet", "Issue", "LoadedPipeline", "PipelineLoadError", "PipelineSource", "RuntimeInput",
    "apply_input_set", "load_pipeline", "parse_runtime_input", "read_input_set", "validate_pipeline",
]
