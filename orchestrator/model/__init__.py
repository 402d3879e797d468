"""Pipeline model: pydantic classes for the Harness-style YAML."""

from orchestrator.model.common import is_runtime_input, parse_duration
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

__all__ = [
    "Execution", "ExecutionElement", "ParallelStagesElement", "ParallelStepsElement", "Pipeline",
    "PipelineFile", "Stage", "StageElement", "StageWhen", "Step", "StepElement", "StepGroup",
    "StepGroupElement", "StepWhen", "Template", "Variable", "is_runtime_input", "parse_duration",
]
