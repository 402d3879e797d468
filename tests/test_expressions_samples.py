"""Every expression in the real Harness samples scans, and every condition/assertion parses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.expressions import find_expressions, parse_condition

SAMPLES = Path(__file__).parent / "fixtures" / "harness-samples"
FILES = sorted(SAMPLES.glob("*.yaml"))
assert len(FILES) == 13, "tests/fixtures/harness-samples must hold the 13 samples"


def strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from strings(v, key)
    elif isinstance(node, str):
        yield key, node


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sample_expressions_scan_and_conditions_parse(path: Path) -> None:
    data = YAML(typ="safe").load(path.read_text())
    conditions = 0
    for key, text in strings(data):
        spans = find_expressions(text)
        assert all(text[s.start : s.end] == f"<+{s.body}>" for s in spans)
        if key in ("condition", "assertion"):
            parse_condition(text)
            conditions += 1
    if path.name == "13.yaml":
        assert conditions >= 10
