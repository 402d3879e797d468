"""``python -m workers [--queues a,b] [--concurrency N] [--pool prefork|threads|solo]``."""

from __future__ import annotations

import argparse

from workers.main import start_worker


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("--queues", default="")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--loglevel", default="WARNING")
    parser.add_argument("--hostname", default=None)
    args = parser.parse_args()
    queues = [q for q in args.queues.split(",") if q] or None
    start_worker(queues=queues, concurrency=args.concurrency, pool=args.pool, loglevel=args.loglevel,
                 hostname=args.hostname)


if __name__ == "__main__":
    main()
