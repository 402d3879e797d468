"""The Celery tasks: one step task per step type (``orchestrator.step.<Type>``, so Flower shows
what runs) and the error callback that records failures Celery itself caught."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import Retry

from orchestrator.coordinator.commands import Publish
from orchestrator.state.keys import timer_member
from strategies.classify import classify_exception
from strategies.errors import ErrorType
from workers import runtime
from workers.executors.base import Completed, StepContext, Suspended
from workers.executors.registry import executor_class, known_types
from workers.heartbeat import HeartbeatThread

log = logging.getLogger(__name__)

_executors: dict[str, Any] = {}
_heartbeat: HeartbeatThread | None = None
_heartbeat_lock = threading.Lock()


def heartbeat() -> HeartbeatThread:
    global _heartbeat
    with _heartbeat_lock:
        engine = runtime.engine()
        if _heartbeat is None or _heartbeat.store is not engine.store:
            settings = runtime.settings()
            _heartbeat = HeartbeatThread(engine.store, settings.heartbeat_interval, settings.lost_step_timeout)
        return _heartbeat


def executor_for(step_type: str) -> Any:
    executor = _executors.get(step_type)
    if executor is None:
        executor = executor_class(step_type)()
        _executors[step_type] = executor
    return executor


class StepTask(Task):
    """Base of the step tasks: acknowledged late, never stores a result (state is in Redis)."""

    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    max_retries = None
    typing = False


REDIS_OUTAGE = (redis.ConnectionError, redis.TimeoutError)  # incl. BusyLoadingError (AOF replay)
REDIS_RETRY_FOR = 60.0
"""Seconds a step keeps retrying its start or its outcome while Redis is unreachable (restarting)."""


def with_redis_retry(what: str, call: Any, budget: float = REDIS_RETRY_FOR) -> Any:
    """``call()``, retried with backoff while Redis is down, so that a Redis restart does not lose a
    step's start or outcome. A replay is harmless: a start or commit that did land is stale on replay."""
    deadline = time.monotonic() + budget
    delay = 0.05
    while True:
        try:
            return call()
        except REDIS_OUTAGE as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s: Redis unavailable (%s); retrying in %.2fs", what, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def run_step(task: Task, run_id: str, node: str, attempt: int) -> str:
    """Execute one step attempt, then record its outcome and advance the run (one message)."""
    engine = runtime.engine()
    settings = runtime.settings()
    plan = engine.plans.get(run_id)
    plan_node = plan.node(node)
    from orchestrator.expressions import RunContextResolver, render_value

    token = uuid.uuid4().hex  # lets a retried start whose reply was lost recognise itself
    started = with_redis_retry(f"start {node}#{attempt}", lambda: engine.store.start_attempt(
        run_id, node, attempt, token=token,
        worker=f"{task.request.hostname or runtime.worker_identity()}",
        lost_timeout=settings.lost_step_timeout,
        timeout=plan_node.timeout,
        prefetch_nodes=engine.plans.finish_prefetch(plan, node) + engine.plans.status_prefetch(plan, node),
        prefetch_outputs=engine.plans.output_prefetch(plan, node),
    ))
    if not started.started:
        log.info("step %s attempt %s not queued (found %s): duplicate or stale message ignored",
                 node, attempt, (started.current or {}).get("status"))
        return "ignored"
    snapshot = started.snapshot
    assert snapshot is not None

    def outputs(key: str) -> Any:
        if key in snapshot.outputs:
            return snapshot.outputs[key]
        return engine.store.output(run_id, key)

    def status(key: str) -> str | None:
        record = snapshot.nodes[key] if key in snapshot.nodes else engine.store.node(run_id, key)
        return (record or {}).get("status")

    sequence = snapshot.meta.get("sequence_id")
    resolver = RunContextResolver(plan=plan, node_key=node, run_id=run_id, outputs=outputs, status=status,
                                  sequence_id=int(sequence) if sequence else None)
    ctx = StepContext(
        run_id=run_id, node_key=node, attempt=attempt, step_type=plan_node.step_type or "",
        spec=plan_node.spec or {}, timeout=plan_node.timeout,
        render=lambda value: render_value(value, resolver.resolve), resolve=resolver.resolve,
        step_name=plan_node.name, stage_key=plan_node.stage,
    )
    member = timer_member(run_id, "lost", node, attempt)
    beats = heartbeat()
    beats.track(member, ctx.cancelled)
    try:
        outcome = _execute(ctx)
        if ctx.cancelled.is_set():
            log.info("step %s attempt %s was stopped elsewhere; its outcome is discarded", node, attempt)
        # Still tracked while recording: heartbeats go on if Redis is restarting meanwhile.
        commands = with_redis_retry(
            f"record {node}#{attempt}",
            lambda: engine.step_finished(run_id, node, attempt, outcome, snapshot=snapshot))
    finally:
        beats.untrack(member)
    own_retry = next((c for c in commands if isinstance(c, Publish) and c.node == node), None)
    engine.dispatch(run_id, [c for c in commands if c is not own_retry])
    if own_retry is not None:
        # Retry as a Celery retry: same task, next attempt's id, the strategy's interval as countdown.
        raise task.retry(
            args=(run_id, node, own_retry.attempt), kwargs={}, countdown=own_retry.countdown,
            task_id=runtime.step_task_id(run_id, node, own_retry.attempt), queue=own_retry.queue,
            soft_time_limit=own_retry.soft_time_limit,
            max_retries=None,
        )
    return outcome["result"]


def _execute(ctx: StepContext) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = executor_for(ctx.step_type).execute(ctx)
    except Retry:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure is classified, none escapes
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        error_type, message = classify_exception(exc)
        outcome = {"result": "failure", "error_type": str(error_type), "message": message,
                   "duration": time.monotonic() - started}
        if isinstance(getattr(exc, "output", None), dict):
            outcome["output"] = exc.output  # e.g. a failed script's exit code and stderr tail
        return outcome
    if isinstance(result, Suspended):
        return {"result": "suspended", "status": result.status, "wake_after": result.wake_after,
                "on_wake": result.on_wake, "output": result.output}
    if isinstance(result, Completed):
        return {"result": "success", "output": result.output}
    return {"result": "failure", "error_type": ErrorType.UNKNOWN.value,
            "message": f"executor returned {type(result).__name__}, expected Completed or Suspended"}


def step_failed(request: Any, exc: BaseException, traceback: Any) -> None:
    """``link_error`` of every step: runs in the failing worker when Celery itself caught the
    failure (a hard time limit, an error outside the executor) and records it as the outcome."""
    run_id, node, attempt = request.args[:3]
    error_type, message = classify_exception(exc)
    log.warning("step %s attempt %s failed inside Celery: %s", node, attempt, message)
    engine = runtime.engine()
    commands = engine.step_finished(run_id, node, int(attempt),
                                    {"result": "failure", "error_type": str(error_type), "message": message})
    engine.dispatch(run_id, commands)


def register_step_tasks(app: Celery) -> None:
    """One task per known step type (built-ins and registered executors) plus the errback."""
    for step_type in sorted(known_types()):
        name = runtime.step_task_name(step_type)
        if name not in app.tasks:
            def step(self: Task, run_id: str, node: str, attempt: int) -> str:
                return run_step(self, run_id, node, attempt)
            step.__name__ = f"step_{step_type}"
            app.task(name=name, bind=True, base=StepTask)(step)
    if runtime.STEP_FAILED_TASK not in app.tasks:
        app.task(name=runtime.STEP_FAILED_TASK, ignore_result=True)(step_failed)
