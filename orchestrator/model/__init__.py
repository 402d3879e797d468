"""Pipeline model: pydantic classes for the Harness-style YAML.

The classes of :mod:`orchestrator.model.pipeline` are loaded on first access: the strategy
model (:mod:`strategies.model`) builds on :mod:`orchestrator.model.common` and the pipeline
model builds on the strategy model, so importing either package first must not import the
other half-initialized.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrator.model.common import is_runtime_input, parse_duration

if TYPE_CHECKING:
    from orchestrator.model.pipeline import (
        Execution,
        ExecutionElement,
        ParallelStagesElement,
        ParallelStepsElement,
        Pipeline,
        PipelineFile,
        Stage,
        StageElement,
        StageWhen,
        Step,
        StepElement,
        StepGroup,
        StepGroupElement,
        StepWhen,
        Template,
        Variable,
    )

_PIPELINE_NAMES = (
    "Execution", "ExecutionElement", "ParallelStagesElement", "ParallelStepsElement", "Pipeline",
    "PipelineFile", "Stage", "StageElement", "StageWhen", "Step", "StepElement", "StepGroup",
    "StepGroupElement", "StepWhen", "Template", "Variable",
)

__all__ = [*_PIPELINE_NAMES, "is_runtime_input", "parse_duration"]


def __getattr__(name: str) -> Any:
    if name in _PIPELINE_NAMES:
        return getattr(importlib.import_module("orchestrator.model.pipeline"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
