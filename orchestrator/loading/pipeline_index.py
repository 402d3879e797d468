"""Find chained (child) pipelines by identifier in a pipelines directory.

The directory's ``*.yaml``/``*.yml`` files are scanned once for ``pipeline.identifier`` (or a
Pipeline template's identifier) and the result is cached until a file there changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

_Signature = tuple[tuple[str, int, int], ...]
_cache: dict[Path, tuple[_Signature, dict[str, list[Path]]]] = {}


def _files(directory: Path) -> list[Path]:
    return sorted(p for pattern in ("*.yaml", "*.yml") for p in directory.glob(pattern) if p.is_file())


def _signature(files: list[Path]) -> _Signature:
    out = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def declared_identifier(data: Any) -> str | None:
    """The identifier a document declares as a pipeline (None for anything else)."""
    if not isinstance(data, dict):
        return None
    pipeline = data.get("pipeline")
    if isinstance(pipeline, dict) and isinstance(pipeline.get("identifier"), str):
        return pipeline["identifier"]
    template = data.get("template")
    if isinstance(template, dict) and template.get("type") == "Pipeline":
        spec = template.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("identifier"), str):
            return spec["identifier"]
        if isinstance(template.get("identifier"), str):
            return template["identifier"]
    return None


def pipelines_in(directory: Path) -> dict[str, list[Path]]:
    """identifier -> files declaring it (several files for one identifier is ambiguous)."""
    key = directory.resolve()
    files = _files(key)
    signature = _signature(files)
    cached = _cache.get(key)
    if cached is not None and cached[0] == signature:
        return cached[1]
    index: dict[str, list[Path]] = {}
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = True
    for path in files:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YAMLError):
            continue  # unreadable files declare nothing; they are reported if referenced some other way
        identifier = declared_identifier(data)
        if identifier is not None:
            index.setdefault(identifier, []).append(directory / path.name)
    _cache[key] = (signature, index)
    return index
