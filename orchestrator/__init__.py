"""A distributed pipeline orchestrator: Harness-style YAML pipelines on Celery workers over Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from orchestrator.client import Client, RunHandle


def __getattr__(name: str) -> Any:
    # Lazy, so that `orchestrator validate` never imports Celery.
    if name in ("Client", "RunHandle"):
        from orchestrator import client

        return getattr(client, name)
    raise AttributeError(name)


__all__ = ["Client", "RunHandle", "__version__"]
