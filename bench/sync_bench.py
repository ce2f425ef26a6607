"""Sync-back benchmark: 20,000 ratings to a local Segment stand-in, ours vs analytics-python.

Both clients send the same identify messages (same userIds, traits, timestamps and
messageIds) to the same kind of server: ``SegmentServer`` (the sandbox's Segment stand-in,
which enforces Segment's limits and checks the write key) running in its own process, so
the server's work does not compete with the client for the interpreter lock. Every run is
checked on the server: all messages must have arrived, each messageId once.

- ours: ``sync_ratings`` on a profile holding 20,000 customers with one response each, from
  the call to its return: the outbox check, reading and encoding the identifies, sending,
  and committing each acknowledged batch (everything a real sync does). The identifies were
  queued in the outbox when the responses were recorded; that step is timed separately.
- theirs: segment-analytics-python with a queue as large as the load (so it does not drop),
  ``sync_mode=False``, the default upload_size (100), pointed at the same server; timed from
  the first ``identify()`` to ``flush()`` returning.
- theirs with the default queue (10,000): how many of the 20,000 actually arrive.

Each run also reports the CPU time it cost this process (all its threads) and the server
process. The server runs with Python's cyclic garbage collector off (it keeps every
accepted message, and full collections over them paused replies by 40-70 ms), and the data
prepared for the clients is frozen out of this process's collector: neither favours one
client (analytics-python gains the most from the second), and ``--server-gc`` turns the
first back on.

Run:  .venv/bin/python bench/sync_bench.py [--count 20000] [--rounds 3] [--warmup 1] [--rtt-ms 0]
      [--no-gzip-for-theirs] [--their-upload-size 100] [--server-gc]

``--rtt-ms`` makes the server wait that long before answering each request, as a real
network round trip to Segment would; both clients get the same server.
"""

from __future__ import annotations

import argparse
import gc
import logging
import multiprocessing
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, update
from sqlmodel import Session

from callexa_desktop.core.clock import iso_utc
from callexa_desktop.core.models import Customer, SyncOutbox
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, record_responses
from callexa_desktop.core.settings import set_setting
from callexa_desktop.core.sync_outbox import pending_entries, refresh_outbox
from callexa_desktop.services.syncing import sync_ratings

COMMENTS = ["", "Quick and friendly.", "The app crashed twice this week, please fix it.", "👍"]


@dataclass
class Arrivals:
    messages: int
    unique_ids: int
    requests: int
    server_cpu: float  # seconds of the server process's CPU since the last reset


# -- the server, in its own process ------------------------------------------------------------


def _serve(write_key: str, conn: Connection, rtt: float, collect: bool) -> None:
    from callexa_desktop.services.sandbox.segment import SegmentFake, SegmentServer

    if not collect:
        # The stand-in keeps every message it accepts (to count messageIds); the cyclic
        # collector walking them all paused a reply by 40-70 ms per 20,000. Reference
        # counting still frees everything else; the collector runs between runs instead.
        gc.disable()
    fake = SegmentFake(write_key)
    if rtt:
        answer = fake.handle

        def after_a_round_trip(*args: Any) -> Any:
            time.sleep(rtt)  # the emulated network latency of one request/reply
            return answer(*args)

        fake.handle = after_a_round_trip  # type: ignore[method-assign,assignment]
    cpu_at_reset = time.process_time()
    with SegmentServer(fake) as server:
        conn.send(server.endpoint)
        while True:
            command = conn.recv()
            fake = server.fake
            if command == "stats":
                counts = fake.message_id_counts()
                cpu = time.process_time() - cpu_at_reset
                conn.send((sum(counts.values()), len(counts), fake.requests, cpu))
            elif command == "reset":
                fake.reset()
                gc.collect()
                cpu_at_reset = time.process_time()
                conn.send("ok")
            else:
                conn.send("bye")
                return


class ServerProcess:
    def __init__(self, write_key: str, rtt: float = 0.0, *, collect: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(write_key, child, rtt, collect), daemon=True
        )
        self._process.start()
        self.endpoint: str = self._conn.recv()

    def arrivals(self) -> Arrivals:
        self._conn.send("stats")
        return Arrivals(*self._conn.recv())

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._conn.recv()
        self._process.join(timeout=10)


# -- the data ----------------------------------------------------------------------------------


def make_profile(folder: Path, count: int, endpoint: str) -> Profile:
    """A profile with ``count`` customers (each with a userId) and one response each."""
    profile = Profile.open(folder)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    records = (
        ResponseRecord(
            email=f"customer{n:06d}@example.com",
            rating=n % 11,
            comment=COMMENTS[n % len(COMMENTS)],
            answered_at=start + timedelta(seconds=n),
            source="bench",
        )
        for n in range(count)
    )
    with profile.database.session() as session:
        record_responses(session, records, source="bench", now=start)
        session.flush()
        session.execute(update(Customer).values(user_id="user-" + Customer.email))
        set_setting(session, "segment_endpoint", endpoint)
    return profile


def same_identifies(profile: Profile) -> list[dict[str, Any]]:
    """The identifies our sync will send, as analytics-python call arguments."""
    with profile.database.session() as session:
        calls = [
            {
                "user_id": entry.user_id,
                "traits": {
                    "NPS_rating": entry.rating,
                    "NPS_comment": entry.comment,
                    "NPS_date": iso_utc(entry.answered_at),
                },
                "timestamp": entry.answered_at,
                "message_id": entry.message_id,
            }
            for entry in pending_entries(session)
        ]
    return calls


# -- the runs ----------------------------------------------------------------------------------


def time_outbox_fill(profile: Profile) -> float:
    """How long queuing every identify takes (done as responses are recorded; rolled back)."""
    with Session(profile.database.engine) as session:
        session.execute(delete(SyncOutbox))
        started = time.perf_counter()
        queued = refresh_outbox(session, profile.clock())
        elapsed = time.perf_counter() - started
        session.rollback()
    assert queued > 0
    return elapsed


def run_ours(profile: Profile, write_key: str) -> tuple[float, float]:
    """(seconds from the call to the return, this process's CPU seconds meanwhile)."""
    cpu = time.process_time()
    started = time.perf_counter()
    summary = sync_ratings(profile, write_key)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if not summary.ok or summary.delivered != summary.to_send:
        raise SystemExit(f"our sync did not deliver everything: {summary.sentence()}")
    return elapsed, cpu


def run_theirs(
    calls: list[dict[str, Any]],
    write_key: str,
    endpoint: str,
    *,
    queue: int | None,
    gzip: bool,
    upload_size: int | None = None,
) -> tuple[float, float, int]:
    """(seconds from the first identify() to flush() returning, CPU seconds, refused)."""
    from segment.analytics.client import Client

    options: dict[str, Any] = {"host": endpoint, "sync_mode": False, "gzip": gzip}
    if queue is not None:
        options["max_queue_size"] = queue
    if upload_size is not None:
        options["upload_size"] = upload_size
    refused = 0
    client = Client(write_key, **options)
    cpu = time.process_time()
    started = time.perf_counter()
    for call in calls:
        accepted, _ = client.identify(**call)
        refused += not accepted
    client.flush()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    client.join()
    return elapsed, cpu, refused


def reset_outbox(profile: Profile) -> None:
    """Make every rating undelivered again (same messageIds) for another round."""
    with profile.database.session() as session:
        session.execute(update(SyncOutbox).values(status="pending", delivered_at=None, attempts=0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each first")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        help="emulate this network round trip per request on the server (default: loopback)",
    )
    parser.add_argument(
        "--no-gzip-for-theirs",
        action="store_true",
        help="let analytics-python send uncompressed bodies (we always gzip)",
    )
    parser.add_argument(
        "--their-upload-size",
        type=int,
        default=None,
        help="analytics-python's messages per request (default: the library's, 100)",
    )
    parser.add_argument(
        "--server-gc", action="store_true", help="keep the server's cyclic garbage collector on"
    )
    args = parser.parse_args()
    logging.getLogger("segment").setLevel(logging.CRITICAL)  # "queue is full" x 10,000
    write_key = secrets.token_hex(16)
    gzip = not args.no_gzip_for_theirs
    server = ServerProcess(write_key, args.rtt_ms / 1000, collect=args.server_gc)
    print(
        f"server: SegmentServer in its own process, emulated round trip {args.rtt_ms:g} ms, "
        f"garbage collector {'on' if args.server_gc else 'off'}"
    )
    upload = args.their_upload_size
    ours: list[float] = []
    theirs: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(f"Preparing {args.count:,} customers with a rating each ...", flush=True)
            profile = make_profile(Path(folder), args.count, server.endpoint)
            calls = same_identifies(profile)
            fill = time_outbox_fill(profile)
            print(f"queuing the identifies when the responses were recorded took {fill:.2f} s")
            # The prepared data (theirs: 20,000 call dicts; both live in this process) is set
            # aside from the cyclic garbage collector, so neither client's collections walk
            # the other's fixtures.
            gc.collect()
            gc.freeze()
            for _ in range(args.warmup):  # first runs fill caches (statements, pages): untimed
                server.reset()
                reset_outbox(profile)
                run_ours(profile, write_key)
                server.reset()
                run_theirs(calls, write_key, server.endpoint, queue=args.count, gzip=gzip)
            for round_ in range(1, args.rounds + 1):
                server.reset()
                reset_outbox(profile)
                gc.collect()  # each run starts without the other's garbage
                elapsed, cpu = run_ours(profile, write_key)
                ours.append(elapsed)
                mine = server.arrivals()
                print(
                    f"round {round_} ours:   {elapsed:5.2f} s  arrived {mine.messages:,} "
                    f"({mine.unique_ids:,} distinct messageIds) in {mine.requests} requests; "
                    f"CPU {cpu:.2f} s here, {mine.server_cpu:.2f} s in the server"
                )
                assert mine.messages == mine.unique_ids == args.count, "ours lost messages"

                server.reset()
                gc.collect()
                elapsed, cpu, refused = run_theirs(
                    calls,
                    write_key,
                    server.endpoint,
                    queue=args.count,
                    gzip=gzip,
                    upload_size=upload,
                )
                theirs.append(elapsed)
                got = server.arrivals()
                print(
                    f"round {round_} theirs: {elapsed:5.2f} s  arrived {got.messages:,} "
                    f"({got.unique_ids:,} distinct) in {got.requests} requests; "
                    f"CPU {cpu:.2f} s here, {got.server_cpu:.2f} s in the server "
                    f"(max_queue_size={args.count:,}, upload_size={upload or 'default'}, "
                    f"gzip={gzip}, refused at enqueue {refused})"
                )
                assert got.messages == got.unique_ids == args.count, "theirs lost messages"
            profile.close()

            server.reset()
            _, _, dropped = run_theirs(calls, write_key, server.endpoint, queue=None, gzip=gzip)
            default = server.arrivals()
            print(
                f"theirs with the default queue (10,000): arrived {default.messages:,} of "
                f"{args.count:,}; {dropped:,} dropped at enqueue with only a log warning"
            )
    finally:
        server.stop()
    best = min(ours) / min(theirs)
    median = statistics.median(ours) / statistics.median(theirs)
    # Each round's two runs are next to each other in time, so they share the machine's load.
    paired = statistics.median(o / t for o, t in zip(ours, theirs, strict=True))
    print(
        f"best ours {min(ours):.2f} s vs best theirs {min(theirs):.2f} s: ratio {best:.3f}; "
        f"medians {statistics.median(ours):.2f} s vs {statistics.median(theirs):.2f} s: "
        f"ratio {median:.3f}; median of the rounds' own ratios {paired:.3f} "
        f"(target 0.2: {'met' if best <= 0.2 else 'missed'} by the best runs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
