"""A workaround for a crash of Celery 5.7 / kombu 5.7 workers when the Redis broker goes away.

On a lost broker connection the consumer first ``collect()``s the connection (which detaches the
kombu transport: ``transport.client = None``) and then ``close()``s it. Closing the old channel
tries to hand its unacknowledged messages back (``restore_unacked_once``); with steps running
(``acks_late``: every running step is unacknowledged) that needs a Redis client, whose parameters
are read from the detached transport, and raises ``AttributeError: 'NoneType' object has no
attribute 'hostname'``. That is not a connection error, so nothing swallows it: the worker logs
"Unrecoverable error" and exits instead of reconnecting (seen on every Redis restart with a step
in flight).

The fix turns that case into the connection error it really is. The closing code already ignores
connection errors; the messages stay in Redis's ``unacked`` hash and are restored by the
visibility-timeout scan, and a redelivered step message is ignored by ``start_attempt`` (the
attempt is no longer Queued), so nothing runs twice.
"""

from __future__ import annotations

import functools

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    import redis
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.Channel._connparams

    @functools.wraps(original)
    def _connparams(self, *args, **kwargs):  # noqa: ANN001, ANN202 - kombu's signature
        if self.connection is None or getattr(self.connection, "client", None) is None:
            raise redis.exceptions.ConnectionError("broker connection already closed")
        return original(self, *args, **kwargs)

    kombu_redis.Channel._connparams = _connparams
    _applied = True
