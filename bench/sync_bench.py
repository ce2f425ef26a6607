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

Run:  .venv/bin/python bench/sync_bench.py [--count 20000] [--rounds 3] [--rtt-ms 0]
      [--no-gzip-for-theirs]

``--rtt-ms`` makes the server wait that long before answering each request, as a real
network round trip to Segment would; both clients get the same server.
"""

from __future__ import annotations

import argparse
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


# -- the server, in its own process ------------------------------------------------------------


def _serve(write_key: str, conn: Connection, rtt: float) -> None:
    from callexa_desktop.services.sandbox.segment import SegmentFake, SegmentServer

    fake = SegmentFake(write_key)
    if rtt:
        answer = fake.handle

        def after_a_round_trip(*args: Any) -> Any:
            time.sleep(rtt)  # the emulated network latency of one request/reply
            return answer(*args)

        fake.handle = after_a_round_trip  # type: ignore[method-assign]
    with SegmentServer(fake) as server:
        conn.send(server.endpoint)
        while True:
            command = conn.recv()
            fake = server.fake
            if command == "stats":
                counts = fake.message_id_counts()
                conn.send((sum(counts.values()), len(counts), fake.requests))
            elif command == "reset":
                fake.reset()
                conn.send("ok")
            else:
                conn.send("bye")
                return


class ServerProcess:
    def __init__(self, write_key: str, rtt: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(write_key, child, rtt), daemon=True)
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


def run_ours(profile: Profile, write_key: str) -> float:
    started = time.perf_counter()
    summary = sync_ratings(profile, write_key)
    elapsed = time.perf_counter() - started
    if not summary.ok or summary.delivered != summary.to_send:
        raise SystemExit(f"our sync did not deliver everything: {summary.sentence()}")
    return elapsed


def run_theirs(
    calls: list[dict[str, Any]], write_key: str, endpoint: str, *, queue: int | None, gzip: bool
) -> tuple[float, int]:
    from segment.analytics.client import Client

    options: dict[str, Any] = {"host": endpoint, "sync_mode": False, "gzip": gzip}
    if queue is not None:
        options["max_queue_size"] = queue
    refused = 0
    client = Client(write_key, **options)
    started = time.perf_counter()
    for call in calls:
        accepted, _ = client.identify(**call)
        refused += not accepted
    client.flush()
    elapsed = time.perf_counter() - started
    client.join()
    return elapsed, refused


def reset_outbox(profile: Profile) -> None:
    """Make every rating undelivered again (same messageIds) for another round."""
    with profile.database.session() as session:
        session.execute(update(SyncOutbox).values(status="pending", delivered_at=None, attempts=0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each")
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
    args = parser.parse_args()
    logging.getLogger("segment").setLevel(logging.CRITICAL)  # "queue is full" x 10,000
    write_key = secrets.token_hex(16)
    gzip = not args.no_gzip_for_theirs
    server = ServerProcess(write_key, args.rtt_ms / 1000)
    print(f"server: SegmentServer in its own process, emulated round trip {args.rtt_ms:g} ms")
    ours: list[float] = []
    theirs: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(f"Preparing {args.count:,} customers with a rating each ...", flush=True)
            profile = make_profile(Path(folder), args.count, server.endpoint)
            calls = same_identifies(profile)
            fill = time_outbox_fill(profile)
            print(f"queuing the identifies when the responses were recorded took {fill:.2f} s")
            for round_ in range(1, args.rounds + 1):
                server.reset()
                reset_outbox(profile)
                ours.append(run_ours(profile, write_key))
                mine = server.arrivals()
                print(
                    f"round {round_} ours:   {ours[-1]:5.2f} s  arrived {mine.messages:,} "
                    f"({mine.unique_ids:,} distinct messageIds) in {mine.requests} requests"
                )
                assert mine.messages == mine.unique_ids == args.count, "ours lost messages"

                server.reset()
                elapsed, refused = run_theirs(
                    calls, write_key, server.endpoint, queue=args.count, gzip=gzip
                )
                theirs.append(elapsed)
                got = server.arrivals()
                print(
                    f"round {round_} theirs: {elapsed:5.2f} s  arrived {got.messages:,} "
                    f"({got.unique_ids:,} distinct) in {got.requests} requests "
                    f"(max_queue_size={args.count:,}, gzip={gzip}, refused at enqueue {refused})"
                )
                assert got.messages == got.unique_ids == args.count, "theirs lost messages"
            profile.close()

            server.reset()
            _, dropped = run_theirs(calls, write_key, server.endpoint, queue=None, gzip=gzip)
            default = server.arrivals()
            print(
                f"theirs with the default queue (10,000): arrived {default.messages:,} of "
                f"{args.count:,}; {dropped:,} dropped at enqueue with only a log warning"
            )
    finally:
        server.stop()
    best = min(ours) / min(theirs)
    median = statistics.median(ours) / statistics.median(theirs)
    print(
        f"best ours {min(ours):.2f} s vs best theirs {min(theirs):.2f} s: ratio {best:.3f}; "
        f"medians {statistics.median(ours):.2f} s vs {statistics.median(theirs):.2f} s: "
        f"ratio {median:.3f} (target 0.2: {'met' if best <= 0.2 else 'missed'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
