"""The timer sweeper: a thread in every worker node that fires due deadlines.

Every deadline of every run (retry waits, intervention and approval timeouts, Wait steps, step,
stage and run timeouts, lost-step and provisioning checks) is an entry of one sorted set. Each
worker node claims due entries atomically (with a lease, so a claimer that dies mid-way is
replaced) and applies them through the coordinator: there is no single process whose death
stalls runs. The same thread announces the worker and the queues it consumes.

Redis outages: the loop keeps retrying. A timer it had claimed but could not apply because Redis
went away is applied again as soon as Redis answers (rather than after its lease). When Redis
comes back, the sweeper waits two heartbeat intervals before firing timers, so that steps that
kept running through the outage push their ``lost`` deadline first and are not declared lost
merely because nobody could reach Redis.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from celery import bootsteps

from workers import runtime

log = logging.getLogger(__name__)

CLAIM_LEASE = 30.0
CLAIM_BATCH = 20
"""Due timers one sweeper takes at a time; a burst is shared by the sweepers of all nodes."""
ANNOUNCE_EVERY = 1.0
REDIS_OUTAGE = (redis.ConnectionError, redis.TimeoutError)


_running: "set[TimerSweeper]" = set()


def stop_all() -> None:
    """Stop every sweeper of this process (for embedders whose worker does not run bootstep stops)."""
    for sweeper in list(_running):
        sweeper.stop()


class TimerSweeper:
    def __init__(self, worker_name: str, queues: list[str]) -> None:
        self.worker_name = worker_name
        self.queues = queues
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="timer-sweeper", daemon=True)
        self._refire: list[str] = []
        """Claimed timers not applied because Redis went away: applied first when it is back."""

    def start(self) -> None:
        _running.add(self)
        self._thread.start()

    def stop(self) -> None:
        _running.discard(self)
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            runtime.engine().store.retire_worker(self.worker_name)
        except Exception:  # Redis gone at shutdown: the entry simply ages out
            log.debug("could not retire worker entry", exc_info=True)

    def sweep_once(self) -> float | None:
        engine = runtime.engine()
        pending, self._refire = self._refire, []
        claimed, next_due = engine.store.claim_timers(CLAIM_LEASE, limit=CLAIM_BATCH)
        members = list(dict.fromkeys([*pending, *(member for member, _ in claimed)]))
        for index, member in enumerate(members):
            try:
                engine.fire_timer(member)
            except REDIS_OUTAGE:
                # Still leased to this sweeper: apply it (and the rest) once Redis answers again.
                self._refire.extend(members[index:])
                raise
            except Exception:
                log.exception("timer %s failed; it will be retried after its lease", member)
        return None if members else next_due

    def _loop(self) -> None:
        settings = runtime.settings()
        last_announce = 0.0
        in_outage = False
        resume_at = 0.0
        while not self._stop.is_set():
            now = time.time()
            try:
                if in_outage or now - last_announce >= ANNOUNCE_EVERY:
                    runtime.engine().store.announce_worker(self.worker_name, self.queues)
                    last_announce = now
                if in_outage:
                    in_outage = False
                    resume_at = now + 2 * settings.heartbeat_interval
                    log.warning("Redis is back; firing timers again in %.1fs (running steps heartbeat first)",
                                resume_at - now)
                if now < resume_at:
                    self._stop.wait(min(resume_at - now, ANNOUNCE_EVERY))
                    continue
                next_due = self.sweep_once()
            except Exception as exc:
                if not in_outage:
                    log.warning("timer sweep failed (Redis unavailable?); retrying", exc_info=True)
                in_outage = in_outage or isinstance(exc, REDIS_OUTAGE)
                self._stop.wait(0.2 if in_outage else 1.0)
                continue
            if next_due is None:
                delay = settings.sweep_interval
            else:
                delay = min(max(next_due - time.time(), 0.0), settings.sweep_interval)
            if delay > 0:
                self._stop.wait(delay)


class SweeperStep(bootsteps.StartStopStep):
    """Runs the sweeper in the worker's main process (not in pool children)."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):  # noqa: ANN001 - Celery's signature
        super().__init__(worker, **kwargs)
        self.sweeper: TimerSweeper | None = None

    def start(self, worker) -> None:  # noqa: ANN001
        app = worker.app
        queues = sorted(app.amqp.queues.consume_from or app.amqp.queues)
        self.sweeper = TimerSweeper(worker.hostname, queues)
        self.sweeper.start()

    def stop(self, worker) -> None:  # noqa: ANN001
        if self.sweeper is not None:
            self.sweeper.stop()
            self.sweeper = None
