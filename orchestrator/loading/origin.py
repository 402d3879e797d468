"""Where a piece of the loaded data came from, so issues point at what the user wrote.

The data that gets validated is not always the file verbatim: a stage template is rewritten
into a one-stage pipeline, and input-set values replace ``<+input>`` fields. A :class:`SourceMap`
maps a path in that data back to a file, a YAML path in that file and a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.loading.issues import Issue
from orchestrator.loading.paths import YamlPath, format_path, line_of


@dataclass
class Origin:
    """One source document: its name, its line map and path rewrites (data prefix -> file prefix)."""

    file: str
    lines: dict[YamlPath, int] = field(default_factory=dict)
    rewrites: list[tuple[YamlPath, YamlPath]] = field(default_factory=list)

    def source_path(self, path: YamlPath) -> YamlPath:
        """``path`` as written in the file (longest matching rewrite wins)."""
        best: tuple[YamlPath, YamlPath] | None = None
        for prefix, target in self.rewrites:
            if path[: len(prefix)] == prefix and (best is None or len(prefix) > len(best[0])):
                best = (prefix, target)
        if best is None:
            return path
        return (*best[1], *path[len(best[0]) :])

    def locate(self, path: YamlPath) -> tuple[str, int | None]:
        source = self.source_path(path)
        return format_path(source), line_of(self.lines, source)


@dataclass
class SourceMap:
    """The main origin plus overlays: data written over ``data_prefix`` came from another origin."""

    main: Origin
    overlays: list[tuple[YamlPath, Origin, YamlPath]] = field(default_factory=list)

    def add_overlay(self, data_prefix: YamlPath, origin: Origin, origin_path: YamlPath) -> None:
        self.overlays.append((data_prefix, origin, origin_path))

    def locate(self, path: YamlPath) -> tuple[str, str, int | None]:
        """(file, YAML path in that file, line) for a path in the loaded data."""
        best: tuple[YamlPath, Origin, YamlPath] | None = None
        for prefix, origin, origin_path in self.overlays:
            if path[: len(prefix)] == prefix and (best is None or len(prefix) > len(best[0])):
                best = (prefix, origin, origin_path)
        if best is None:
            yaml_path, line = self.main.locate(path)
            return self.main.file, yaml_path, line
        prefix, origin, origin_path = best
        yaml_path, line = origin.locate((*origin_path, *path[len(prefix) :]))
        return origin.file, yaml_path, line

    def issue(self, path: YamlPath, code: str, message: str) -> Issue:
        file, yaml_path, line = self.locate(path)
        return Issue(file, line, yaml_path, code, message)
