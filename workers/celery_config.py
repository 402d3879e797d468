"""Celery configuration for the orchestrator's app (and for plain tasks that share its workers)."""

from __future__ import annotations

import os
from typing import Any

from orchestrator.config import Settings, celery_url


def celery_config(settings: Settings) -> dict[str, Any]:
    broker = settings.effective_broker_url
    transport = {
        # A message taken by a worker that dies comes back after visibility_timeout; kombu looks
        # for such messages every unacked_restore_interval x unacked_restore_throttle seconds
        # (default 10 x 10: a lost message came back after 92 s; 1 x 1: about 4.5 s).
        "visibility_timeout": settings.visibility_timeout,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "health_check_interval": 10,
        "socket_keepalive": True,
    }
    return {
        "broker_url": celery_url(broker),
        "result_backend": celery_url(settings.redis_url),
        "broker_transport_options": transport,
        "result_backend_transport_options": {"health_check_interval": 10, "retry_policy": {"timeout": 30}},
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Publishing (a step's next steps, a retry) rides out a Redis restart: up to ~30 s of
        # retries instead of Celery's default 3 quick ones. Should it still fail, the step's
        # `queued` timer re-publishes it after ORCHESTRATOR_PROVISIONING_TIMEOUT.
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 30, "interval_start": 0, "interval_step": 0.2,
                                      "interval_max": 1.0},
        # JSON only: nothing on the wire can execute code when decoded.
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # A step's message is acknowledged after the step ran; a pool process killed mid-step puts
        # it back (the coordinator then sees the attempt already Running and leaves it to the
        # lost-step detector, so a poison step cannot loop).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": int(os.environ.get("ORCHESTRATOR_PREFETCH", "4")),
        "task_default_queue": settings.default_queue,
        # Flower needs task events from workers; "sent" events roughly halve throughput and add
        # little, so they stay off (measured in bench/).
        "worker_send_task_events": os.environ.get("ORCHESTRATOR_TASK_EVENTS", "1") != "0",
        "task_send_sent_event": os.environ.get("ORCHESTRATOR_SENT_EVENTS", "0") == "1",
        "result_expires": 3600,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Extra task modules for workers to import (e.g. plain Celery tasks sharing the workers).
        "imports": [m for m in os.environ.get("ORCHESTRATOR_CELERY_IMPORTS", "").split(",") if m],
    }
