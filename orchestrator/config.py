"""Settings read from the environment, with the defaults documented in docs/configuration.md.

Every process (client, CLI, worker) reads the same variables, so a fleet is configured in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default



@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    """Run state (and, by default, Celery's broker). None: the embedded default."""
    broker_url: str | None = None
    """Celery broker; defaults to ``redis_url`` (RabbitMQ works too: run state stays in Redis)."""
    heartbeat_interval: float = 2.0
    """How often a worker refreshes the liveness deadline of each step it runs."""
    lost_step_timeout: float = 10.0
    """A running step whose worker has not refreshed it for this long fails with DelegateRestart."""
    provisioning_timeout: float = 60.0
    """A queued step whose queue no live worker consumes fails with DelegateProvisioning after this."""
    short_retry_max: float = 10.0
    """Retry waits up to this long use Celery's countdown; longer ones go through the timer set."""
    sweep_interval: float = 0.05
    """Upper bound on how long the timer sweeper sleeps between looks at the timer set."""
    retention: float = 7 * 86400.0
    """Seconds a finished run's state is kept in Redis before it expires."""
    visibility_timeout: float = 30.0
    """Seconds before Redis hands an unacknowledged step message to another worker."""
    worker_ttl: float = 10.0
    """A worker that has not announced itself for this long is not counted as consuming its queues."""
    child_check_interval: float = 30.0
    """How often a stage running a child pipeline re-checks the child (guards against lost notices)."""
    default_queue: str = "orchestrator"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def effective_broker_url(self) -> str | None:
        return self.broker_url or self.redis_url

    def with_redis(self, url: str) -> "Settings":
        return replace(self, redis_url=url)


def load_settings() -> Settings:
    return Settings(
        redis_url=os.environ.get("ORCHESTRATOR_REDIS_URL") or None,
        broker_url=os.environ.get("ORCHESTRATOR_BROKER_URL") or None,
        heartbeat_interval=_float("ORCHESTRATOR_HEARTBEAT_INTERVAL", 2.0),
        lost_step_timeout=_float("ORCHESTRATOR_LOST_STEP_TIMEOUT", 10.0),
        provisioning_timeout=_float("ORCHESTRATOR_PROVISIONING_TIMEOUT", 60.0),
        short_retry_max=_float("ORCHESTRATOR_SHORT_RETRY_MAX", 10.0),
        sweep_interval=_float("ORCHESTRATOR_SWEEP_INTERVAL", 0.05),
        retention=_float("ORCHESTRATOR_RETENTION", 7 * 86400.0),
        visibility_timeout=_float("ORCHESTRATOR_VISIBILITY_TIMEOUT", 30.0),
        worker_ttl=_float("ORCHESTRATOR_WORKER_TTL", 10.0),
        child_check_interval=_float("ORCHESTRATOR_CHILD_CHECK_INTERVAL", 30.0),
        default_queue=os.environ.get("ORCHESTRATOR_DEFAULT_QUEUE", "orchestrator"),
    )


def celery_url(url: str | None) -> str | None:
    """Kombu spells a Unix-socket Redis ``redis+socket://``; redis-py spells it ``unix://``."""
    if url and url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):]
    return url


def redis_py_url(url: str) -> str:
    if url.startswith("redis+socket://"):
        return "unix://" + url[len("redis+socket://"):]
    return url
