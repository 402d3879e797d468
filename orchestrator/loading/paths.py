"""YAML paths: tuples of keys and list indices, printed like ``pipeline.stages[0].stage.timeout``."""

from __future__ import annotations


PathPart = str | int
YamlPath = tuple[PathPart, ...]


def format_path(path: YamlPath) -> str:
    """``('pipeline', 'stages', 0, 'stage')`` -> ``pipeline.stages[0].stage``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out



def line_of(lines: dict[YamlPath, int], path: YamlPath) -> int | None:
    """Line of ``path``, else of its nearest ancestor that has one (a missing key -> its parent)."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None
