"""Import benchmark: 200,000 realistic identify events (NDJSON, ~70 MB), ours vs a floor.

Both sides run in their own fresh process on the same file and a fresh database
with our schema; each reports its wall time (the work only: interpreter start,
imports and creating the empty database are not timed) and its own peak RSS.

- floor: ``json.loads`` per line, the fields picked out (email trimmed and
  lower-cased, times kept as text), then ONE sqlite3 transaction: the identify
  rows ``INSERT OR IGNORE`` and a customer upsert, both by ``executemany``. No
  validation, no decisions, no surveys -- the least any importer has to do.
- ours: ``import_files`` on a fresh profile: reading, validation and
  normalisation, duplicate detection, rejections, the decisions in event-time
  order, customers, surveys.

Run:  .venv/bin/python bench/import_bench.py [--events 200000] [--keep] [--profile]
Targets: ours at most 2x the floor's time, ours under 250 MB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 20260301
CUSTOMERS_PER_EVENT = 0.3  # ~60,000 distinct customers for 200,000 events
TARGET_RATIO = 2.0
TARGET_RSS_MB = 250

FIRST_NAMES = [
    "Ann", "Bob", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kemal", "Lena", "Mateo", "Nora", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tomás",
]  # fmt: skip
LAST_NAMES = [
    "Andersen", "Baker", "Costa", "Dubois", "Eriksson", "Fischer", "García", "Huang",
    "Ivanova", "Jensen", "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Petrov",
]  # fmt: skip
DOMAINS = ["example.com", "example.org", "mail.example.net", "example.co.uk"]
PLANS = ["free", "starter", "pro", "business", "enterprise"]
CITIES = [
    ("Berlin", "DE"), ("Lisbon", "PT"), ("Austin", "US"), ("Lyon", "FR"),
    ("Osaka", "JP"), ("Toronto", "CA"), ("Leeds", "GB"), ("Kraków", "PL"),
]  # fmt: skip
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0",
]


# -- the data -----------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def generate(path: Path, events: int, seed: int = SEED) -> dict[str, int]:
    """Write ``events`` identify messages as NDJSON; same seed, same file."""
    rng = random.Random(seed)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    customer_count = max(1, int(events * CUSTOMERS_PER_EVENT))
    customers = []
    for n in range(customer_count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # Real addresses are nearly always plain ASCII even when the name is not.
        local = unicodedata.normalize("NFKD", f"{first}.{last}{n}").encode("ascii", "ignore")
        created = end - timedelta(seconds=rng.randrange(400 * 86400))
        city, country = rng.choice(CITIES)
        customers.append(
            {
                "n": n,
                "first": first,
                "last": last,
                "email": f"{local.decode().replace(chr(39), '')}@{rng.choice(DOMAINS)}",
                "user_id": f"usr_{rng.getrandbits(48):012x}" if rng.random() < 0.8 else None,
                "anonymous_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "created": created,
                "created_style": rng.random(),
                "plan": rng.choice(PLANS),
                "city": city,
                "country": country,
            }
        )
    # Event times over the last 120 days, each after its customer's creation.
    times = []
    for _ in range(events):
        customer = rng.choice(customers)
        earliest = max(customer["created"], end - timedelta(days=120))
        span = max(1, int((end - earliest).total_seconds()))
        times.append((earliest + timedelta(seconds=rng.randrange(span)), customer))
    # An export comes out roughly in time order, with some disorder from late arrivals.
    times.sort(key=lambda pair: pair[0] + timedelta(minutes=rng.randrange(600)))
    duplicates = rejected = 0
    previous_line = ""
    with path.open("w", encoding="utf-8") as out:
        for index, (moment, customer) in enumerate(times):
            if previous_line and rng.random() < 0.005:  # a client retry: same messageId
                out.write(previous_line)
                duplicates += 1
                continue
            message = _message(rng, index, moment, customer)
            line = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
            if rng.random() < 0.001:  # no email at all: rejected by both sides
                line = line.replace('"email"', '"e_mail"', 1)
                rejected += 1
            out.write(line)
            previous_line = line
    return {"events": events, "customers": customer_count, "duplicates": duplicates}


def _message(
    rng: random.Random, index: int, moment: datetime, customer: dict[str, Any]
) -> dict[str, Any]:
    style = customer["created_style"]
    created: Any
    if style < 0.6:
        created = _iso(customer["created"])
    elif style < 0.8:
        created = int(customer["created"].timestamp())
    elif style < 0.9:
        created = customer["created"].date().isoformat()
    else:
        created = None
    traits: dict[str, Any] = {
        "email": customer["email"] if rng.random() < 0.9 else customer["email"].upper(),
        "plan": customer["plan"],
    }
    if rng.random() < 0.5:
        traits["address"] = {"city": customer["city"], "country": customer["country"]}
    # Sources differ: some send a full name, some first and last name.
    if rng.random() < 0.7:
        traits["name"] = f"{customer['first']} {customer['last']}"
    else:
        traits["firstName"], traits["lastName"] = customer["first"], customer["last"]
    if created is not None:
        traits["createdAt"] = created
    message: dict[str, Any] = {
        "type": "identify",
        "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": _iso(moment),
        "traits": traits,
        "context": {
            "library": {"name": "analytics.js", "version": "2.11.1"},
            "ip": f"203.0.{rng.randrange(256)}.{rng.randrange(256)}",
        },
    }
    if rng.random() < 0.5:  # server-side sources send no user agent
        message["context"]["userAgent"] = rng.choice(AGENTS)
    if customer["user_id"]:
        message["userId"] = customer["user_id"]
    if not customer["user_id"] or rng.random() < 0.3:  # browsers also send their anonymousId
        message["anonymousId"] = customer["anonymous_id"]
    return message


# -- the two sides, each run in a child process ---------------------------------------------------


def run_floor(data_file: Path, work_dir: Path, cache_kib: int | None = None) -> dict[str, Any]:
    """json.loads per line plus one sqlite3 transaction of inserts and upserts.

    ``cache_kib`` gives the floor the larger page cache our import uses (for comparison).
    """
    import sqlite3

    from callexa_desktop.core.paths import database_path
    from callexa_desktop.core.profile import Profile

    Profile.open(work_dir).close()  # our schema, untimed
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    connection = sqlite3.connect(database_path(work_dir))
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    if cache_kib:
        connection.execute(f"PRAGMA cache_size=-{cache_kib}")
    insert_event = (
        "INSERT OR IGNORE INTO identify_event (message_key, email, event_at, created_at, "
        "user_id, anonymous_id, first_name, last_name, name, gender, source, line) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    upsert_customer = (
        "INSERT INTO customer (email, user_id, anonymous_id, first_name, last_name, name, "
        "gender, created_at, first_seen_at, last_identified_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET "
        "user_id = coalesce(excluded.user_id, user_id), "
        "anonymous_id = coalesce(excluded.anonymous_id, anonymous_id), "
        "first_name = excluded.first_name, last_name = excluded.last_name, "
        "name = excluded.name, created_at = excluded.created_at, "
        "last_identified_at = excluded.last_identified_at"
    )
    events: list[tuple[Any, ...]] = []
    customers: list[tuple[Any, ...]] = []
    records = 0
    source = str(data_file)
    with data_file.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            traits = message.get("traits") or {}
            email = traits.get("email")
            if not email:
                continue
            email = email.strip().lower()
            at = message.get("timestamp")
            created = traits.get("createdAt")
            created = None if created is None else str(created)
            user_id, anonymous_id = message.get("userId"), message.get("anonymousId")
            first, last, name = traits.get("firstName"), traits.get("lastName"), traits.get("name")
            gender = traits.get("gender")
            events.append(
                (
                    message.get("messageId"), email, at, created, user_id, anonymous_id,
                    first, last, name, gender, source, number,
                )
            )  # fmt: skip
            customers.append(
                (email, user_id, anonymous_id, first, last, name, gender, created, at, at)
            )
            records += 1
            if len(events) >= 5000:
                connection.executemany(insert_event, events)
                connection.executemany(upsert_customer, customers)
                events, customers = [], []
    connection.executemany(insert_event, events)
    connection.executemany(upsert_customer, customers)
    connection.commit()
    connection.close()
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {"seconds": seconds, "cpu_seconds": cpu, "records": records}


def run_ours(data_file: Path, work_dir: Path, profile_code: bool = False) -> dict[str, Any]:
    """``import_files`` on a fresh profile, everything a real import does."""
    from callexa_desktop.core.importing import import_files
    from callexa_desktop.core.profile import Profile
    from callexa_desktop.core.settings import set_setting

    profile = Profile.open(work_dir)  # untimed: creates the empty database
    with profile.database.session() as session:  # the source text's first scenario
        set_setting(session, "max_delay_days", "14")
        set_setting(session, "min_delay_days", "3")
    profiler = None
    if profile_code:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    summary = import_files(profile, [data_file])
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    profile.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "records": summary.read,
        "accepted": summary.accepted,
        "duplicates": summary.duplicates,
        "rejected": summary.rejected,
        "decisions": summary.decisions,
        "refused": summary.refused_files,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(side: str, data_file: Path, work_dir: Path, profile_code: bool) -> None:
    if side == "floor":
        result = run_floor(data_file, work_dir)
    elif side == "floor+cache":
        from callexa_desktop.core.import_storage import IMPORT_PAGE_CACHE_KIB

        result = run_floor(data_file, work_dir, IMPORT_PAGE_CACHE_KIB)
    else:
        result = run_ours(data_file, work_dir, profile_code)
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
    print(json.dumps(result))


def measure(side: str, data_file: Path, work_dir: Path, profile_code: bool) -> dict[str, Any]:
    work_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--child", side, str(data_file), str(work_dir)]
    if profile_code:
        command.append("--profile")
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        sys.stderr.write(finished.stderr)
        raise SystemExit(f"the {side} run failed")
    if profile_code:
        sys.stderr.write(finished.stderr)
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each side, alternating; the best counts"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    parser.add_argument("--profile", action="store_true", help="cProfile our import (one run)")
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "FILE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, data_file, work_dir = args.child
        _child(side, Path(data_file), Path(work_dir), args.profile)
        return

    folder = Path(tempfile.mkdtemp(prefix="callexa-import-bench-"))
    runs: dict[str, list[dict[str, Any]]] = {"floor": [], "floor+cache": [], "ours": []}
    try:
        data_file = folder / "identify.ndjson"
        started = time.perf_counter()
        made = generate(data_file, args.events)
        size_mb = data_file.stat().st_size / 1e6
        print(
            f"Generated {made['events']:,} identify events for {made['customers']:,} customers "
            f"({made['duplicates']:,} retried messages), {size_mb:.1f} MB NDJSON "
            f"in {time.perf_counter() - started:.1f} s"
        )
        repeats = 1 if args.profile else max(1, args.repeat)
        # Alternating runs, so a burst of load from elsewhere hits both sides alike.
        for attempt in range(repeats):
            for side in runs:
                work_dir = folder / f"{side}-{attempt}"
                result = measure(side, data_file, work_dir, args.profile and side == "ours")
                runs[side].append(result)
                print(
                    f"  run {attempt + 1} {side:11}: {result['seconds']:6.2f} s wall, "
                    f"{result['cpu_seconds']:6.2f} s CPU, {result['peak_rss_mb']:4.0f} MB"
                )
                shutil.rmtree(work_dir, ignore_errors=True)
    finally:
        if args.keep:
            print(f"Kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    best = {side: min(results, key=lambda r: r["seconds"]) for side, results in runs.items()}
    cpu = {side: min(r["cpu_seconds"] for r in results) for side, results in runs.items()}
    floor, ours = best["floor"], best["ours"]
    floor_cpu, ours_cpu = cpu["floor"], cpu["ours"]
    ours_rss = max(r["peak_rss_mb"] for r in runs["ours"])
    ratio = ours["seconds"] / floor["seconds"]
    print()
    print(f"best of {len(runs['ours'])} runs each:")
    print(f"{'':12}{'wall s':>9}{'CPU s':>9}{'events/s':>12}{'peak RSS':>12}")
    for name, result in best.items():
        rate = args.events / result["seconds"]
        print(
            f"{name:12}{result['seconds']:>9.2f}{cpu[name]:>9.2f}{rate:>12,.0f}"
            f"{result['peak_rss_mb']:>9.0f} MB"
        )
    print()
    print(
        f"ours: read {ours['records']:,}, new {ours['accepted']:,}, "
        f"duplicates {ours['duplicates']:,}, rejected {ours['rejected']:,}; "
        f"decisions {ours['decisions']}"
    )
    print(
        f"ratio to the floor: {ratio:.2f}x wall, {ours_cpu / floor_cpu:.2f}x CPU "
        f"(target <= {TARGET_RATIO}x)"
    )
    cached = best["floor+cache"]
    print(
        f"(against the floor given our 32 MB page cache too: "
        f"{ours['seconds'] / cached['seconds']:.2f}x wall, "
        f"{ours_cpu / cpu['floor+cache']:.2f}x CPU)"
    )
    print(f"our peak RSS: {ours_rss:.0f} MB (target < {TARGET_RSS_MB} MB)")
    ok = ratio <= TARGET_RATIO and ours_rss < TARGET_RSS_MB
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
