"""Liveness of running steps: one thread per worker process pushes the ``lost`` deadline of each
step it runs into the future. If the process dies, the deadline passes and the timer sweeper fails
the step with DelegateRestart. The same call reports steps that are gone (aborted, expired,
declared lost meanwhile) so their work is cancelled here."""

from __future__ import annotations

import logging
import threading
import time

from orchestrator.state.store import RunStore

log = logging.getLogger(__name__)


class HeartbeatThread:
    def __init__(self, store: RunStore, interval: float, lost_timeout: float) -> None:
        self.store = store
        self.interval = interval
        self.lost_timeout = lost_timeout
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def track(self, member: str, cancelled: threading.Event) -> None:
        with self._lock:
            self._running[member] = cancelled
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="step-heartbeat", daemon=True)
                self._thread.start()

    def untrack(self, member: str) -> None:
        with self._lock:
            self._running.pop(member, None)

    def beat(self) -> None:
        with self._lock:
            members = list(self._running)
        if not members:
            return
        gone = self.store.heartbeat(members, time.time() + self.lost_timeout)
        for member in gone:
            with self._lock:
                event = self._running.get(member)
            if event is not None:
                log.info("step %s was stopped elsewhere; cancelling it here", member)
                event.set()

    def _loop(self) -> None:
        idle = 0
        while idle < 5:  # the thread ends when this process runs no step for a while
            time.sleep(self.interval)
            with self._lock:
                busy = bool(self._running)
                if not busy:
                    idle += 1
                    if idle >= 5:
                        self._thread = None
                        return
                    continue
            idle = 0
            try:
                self.beat()
            except Exception:  # Redis restarting: keep trying, the deadline has slack
                log.warning("heartbeat failed; retrying", exc_info=True)
