"""The Celery app.

``app`` is the worker's app: ``configure()`` binds it to the settings (URLs are only known at run
time when the embedded Redis is used), registers the step tasks and the timer-sweeper bootstep.
Clients publish through their own app instance (``publishing_app``), so that a process can talk to
several deployments without touching the worker's app.
"""

from __future__ import annotations

from celery import Celery

from orchestrator.config import Settings, load_settings
from workers.celery_config import celery_config

app = Celery("orchestrator", set_as_current=True)
_configured: Settings | None = None


def configure(settings: Settings | None = None) -> Celery:
    global _configured
    settings = settings or load_settings()
    if settings.redis_url is None:
        raise RuntimeError("no Redis URL: set ORCHESTRATOR_REDIS_URL or use the embedded default")
    if _configured == settings:
        return app
    app.conf.update(celery_config(settings))
    _configured = settings
    from workers import runtime, sweeper, tasks

    runtime.reset(settings)
    tasks.register_step_tasks(app)
    if sweeper.SweeperStep not in app.steps["worker"]:
        app.steps["worker"].add(sweeper.SweeperStep)
    return app


def publishing_app(settings: Settings) -> Celery:
    """A separate app for a client: same wire configuration, no tasks, no global state."""
    client_app = Celery("orchestrator-client", set_as_current=False)
    client_app.conf.update(celery_config(settings))
    return client_app


def configured_settings() -> Settings:
    if _configured is None:
        configure()
    assert _configured is not None
    return _configured
