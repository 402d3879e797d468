"""Shared fixtures: a real redis-server for the session and a real Celery worker (threads pool).

Timeouts are shortened through the same environment variables users set, so behaviour tests
see lost steps, provisioning failures and retries within seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FAST_SETTINGS = {
    "ORCHESTRATOR_HEARTBEAT_INTERVAL": "0.5",
    "ORCHESTRATOR_LOST_STEP_TIMEOUT": "3",
    "ORCHESTRATOR_PROVISIONING_TIMEOUT": "3",
    "ORCHESTRATOR_SWEEP_INTERVAL": "0.02",
    "ORCHESTRATOR_CHILD_CHECK_INTERVAL": "2",
    "ORCHESTRATOR_VISIBILITY_TIMEOUT": "30",
    "ORCHESTRATOR_SHORT_RETRY_MAX": "1",
}
for _name, _value in FAST_SETTINGS.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("ORCHESTRATOR_REDIS_URL", None)
os.environ.pop("ORCHESTRATOR_BROKER_URL", None)

from tests.process_helpers import aof_cluster, cluster  # noqa: E402,F401 - fixtures for process tests
from tests.redis_process import RedisProcess  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def settings(redis_server: RedisProcess):
    from orchestrator.config import load_settings

    return load_settings().with_redis(redis_server.url)


@pytest.fixture(scope="session")
def celery_worker(settings) -> Iterator[object]:
    """A real Celery worker (threads pool) consuming the default queue of the session Redis."""
    from celery.contrib.testing.worker import start_worker

    from workers.app import configure

    app = configure(settings)
    from workers.sweeper import stop_all

    with start_worker(app, pool="threads", concurrency=8, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=30) as worker:
        yield worker
    stop_all()


@pytest.fixture(scope="session")
def client(settings, celery_worker):
    from orchestrator import Client

    with Client(settings.redis_url, settings=settings) as session_client:
        yield session_client
