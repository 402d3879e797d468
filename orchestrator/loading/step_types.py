"""Which step types can run, and their spec models, asked of the executor registry defensively.

Validation must not import Celery or crash on a half-installed executor: a built-in executor
module that does not exist (yet) simply has no spec model; a plugin that fails to import is an
issue, not a traceback.
"""

from __future__ import annotations

from pydantic import BaseModel

from workers.executors import registry


class PluginImportError(Exception):
    """A module named in ORCHESTRATOR_PLUGINS (or an entry point) failed to import."""


def known_step_types() -> set[str]:
    try:
        return registry.known_types()
    except Exception as exc:  # noqa: BLE001 - a broken plugin is reported as an issue
        raise PluginImportError(f"loading executor plugins failed: {type(exc).__name__}: {exc}") from exc


def step_spec_model(step_type: str) -> type[BaseModel] | None:
    """The executor's spec model; None if it declares none or its module cannot be imported."""
    try:
        model = registry.spec_model(step_type)
    except (ImportError, AttributeError, KeyError):
        return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def register_hint(step_type: str) -> str:
    return registry.REGISTER_HINT.format(type=step_type)
