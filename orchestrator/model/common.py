"""Scalar types shared by the pipeline model: identifiers, durations, runtime inputs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RUNTIME_INPUT_RE = re.compile(r"^<\+input>(\.(default|allowedValues|executionInput|regex)\(.*\))*$", re.S)
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION_FULL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?\s*(ms|s|m|h|d|w)\s*)+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class HarnessModel(BaseModel):
    """Base for every YAML object: camelCase keys, unknown keys kept (real Harness files carry many)."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=to_camel,
        serialize_by_alias=True,
    )


def is_runtime_input(value: Any) -> bool:
    return isinstance(value, str) and bool(RUNTIME_INPUT_RE.match(value.strip()))


def parse_duration(text: str) -> float:
    """Seconds in a Harness duration such as ``10m``, ``1h 30m``, ``1d`` or ``500ms``."""
    if not isinstance(text, str) or not _DURATION_FULL_RE.match(text):
        raise ValueError(f"invalid duration {text!r}: expected e.g. 30s, 10m, 1h 30m, 1d, 1w")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(text))


def _check_identifier(value: str) -> str:
    if not IDENTIFIER_RE.match(value):
        raise ValueError(f"invalid identifier {value!r}: must match ^[A-Za-z_][A-Za-z0-9_]*$")
    return value


def _check_duration(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: give a unit, e.g. {value}s")
    if is_runtime_input(value):
        return value
    parse_duration(value)
    return value


def _stringify_scalar(value: Any) -> Any:
    # `condition: true` is legal YAML and means the string "true" in Harness.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


Identifier = Annotated[str, AfterValidator(_check_identifier)]
Duration = Annotated[str, BeforeValidator(_check_duration)]
"""A duration string (or a runtime input); convert with :func:`parse_duration`."""
ExpressionText = Annotated[str, BeforeValidator(_stringify_scalar)]
