"""``sync``: key from the environment, summary and exit status, and a SIGKILL mid-sync
followed by a rerun that loses nothing and resends only unacknowledged messageIds."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select

from callexa_desktop.cli.main import main
from callexa_desktop.core.models import Customer, SyncOutbox
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, normalise_response, record_responses
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.sandbox.segment import SegmentFake, SegmentServer
from callexa_desktop.services.segment import IN_FLIGHT

CONSOLE_SCRIPT = Path(sys.executable).with_name("callexa-desktop")


@pytest.fixture
def write_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def segment(write_key: str) -> Iterator[SegmentServer]:
    with SegmentServer(SegmentFake(write_key)) as server:
        yield server


def prepare_profile(data_dir: Path, endpoint: str, count: int, *, without_ids: int = 0) -> None:
    """A profile pointed at ``endpoint`` with ``count`` customers, one rating each."""
    profile = Profile.open(data_dir)
    try:
        records = []
        for n in range(count + without_ids):
            fields = {
                "email": f"c{n:05d}@example.com",
                "rating": n % 11,
                "answered_at": "2026-11-01T08:00:00Z",
                "comment": f"comment {n}",
            }
            record = normalise_response(fields, source="test", line=None)
            assert isinstance(record, ResponseRecord)
            records.append(record)
        with profile.database.session() as session:
            record_responses(session, records, source="test", now=profile.clock())
            session.flush()
            session.execute(
                update(Customer)
                .where(Customer.email < f"c{count:05d}@")  # type: ignore[arg-type]
                .values(user_id="user-" + Customer.email)
            )
            set_setting(session, "segment_endpoint", endpoint)
    finally:
        profile.close()


def outbox_states(data_dir: Path) -> dict[str, int]:
    profile = Profile.open(data_dir)
    try:
        with profile.database.session() as session:
            states: dict[str, int] = defaultdict(int)
            for row in session.exec(select(SyncOutbox)):
                states[row.status] += 1
            return dict(states)
    finally:
        profile.close()


def test_sync_uses_the_key_from_the_environment_and_reports(
    data_dir: Path,
    segment: SegmentServer,
    write_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare_profile(data_dir, segment.endpoint, 3, without_ids=1)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", write_key)

    assert main(["--data-dir", str(data_dir), "sync"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("Delivered 3 of 3 ratings (1 customer without userId or anonymousId).")
    assert "c00003@example.com" in out
    assert len(segment.fake.messages) == 3


def test_sync_json_gives_the_summary_fields(
    data_dir: Path,
    segment: SegmentServer,
    write_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare_profile(data_dir, segment.endpoint, 2, without_ids=1)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", write_key)

    assert main(["--data-dir", str(data_dir), "sync", "--json"]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert (summary["delivered"], summary["pending"], summary["failed"]) == (2, 0, 0)
    assert summary["not_syncable"] == ["c00002@example.com"]
    assert summary["stopped"] == ""
    assert isinstance(summary["run_id"], int)


def test_a_dry_run_needs_no_key_and_sends_nothing(
    data_dir: Path, segment: SegmentServer, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare_profile(data_dir, segment.endpoint, 4)

    assert main(["--data-dir", str(data_dir), "sync", "--dry-run"]) == 0

    assert capsys.readouterr().out.strip() == "Would send 4 ratings to Segment."
    assert segment.fake.requests == 0
    assert outbox_states(data_dir) == {"pending": 4}


def test_without_a_key_sync_says_how_to_set_one(
    data_dir: Path, segment: SegmentServer, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare_profile(data_dir, segment.endpoint, 1)

    assert main(["--data-dir", str(data_dir), "sync"]) == 1

    err = capsys.readouterr().err
    assert "keys set segment" in err
    assert "SEGMENT_WRITE_KEY" in err
    assert segment.fake.requests == 0


def test_a_refused_key_fails_with_one_sentence_and_leaves_everything_pending(
    data_dir: Path,
    segment: SegmentServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare_profile(data_dir, segment.endpoint, 2)
    wrong = secrets.token_hex(16)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", wrong)

    assert main(["--data-dir", str(data_dir), "sync"]) == 1

    out, err = capsys.readouterr()
    assert err.startswith("callexa-desktop: Segment refused the write key (HTTP 401)")
    assert err.count("\n") == 1
    assert wrong not in out + err
    assert outbox_states(data_dir) == {"pending": 2}


def test_a_sync_killed_mid_flight_and_rerun_loses_nothing(
    data_dir: Path, segment: SegmentServer, write_key: str
) -> None:
    count = 6000  # several batches
    prepare_profile(data_dir, segment.endpoint, count)
    fake = segment.fake
    # The first batch is acknowledged; the requests after it (as many as travel at once) are
    # held until the client is dead, and Segment then accepts them anyway: their
    # acknowledgements never reach the client.
    fake.stall_requests(IN_FLIGHT, after=1)
    env = {**os.environ, "SEGMENT_WRITE_KEY": write_key}
    command = [str(CONSOLE_SCRIPT), "--data-dir", str(data_dir), "sync", "--json"]

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert fake.wait_until(lambda f: f.held == IN_FLIGHT, timeout=60), "no batches in flight"
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        fake.release()
    assert first.returncode == -signal.SIGKILL
    assert fake.wait_until(lambda f: len(f.request_log) == 1 + IN_FLIGHT, timeout=30)
    acknowledged, *lost_replies = (r.message_count for r in fake.request_log)
    lost_reply = sum(lost_replies)
    assert acknowledged > 0
    assert all(lost > 0 for lost in lost_replies)
    assert outbox_states(data_dir) == {"delivered": acknowledged, "pending": count - acknowledged}

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    left = count - acknowledged
    assert (summary["to_send"], summary["delivered"]) == (left, left)
    assert outbox_states(data_dir) == {"delivered": count}
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in fake.messages:
        by_id[message["messageId"]].append(message)
    assert len(by_id) == count  # nothing lost
    copies = sorted(len(sent) for sent in by_id.values())
    assert copies.count(1) == count - lost_reply
    assert copies.count(2) == lost_reply  # the batches in flight at the kill, sent again
    for sent in by_id.values():
        assert all(copy == sent[0] for copy in sent)  # each retry is the identical message
    assert write_key not in rerun.stdout + rerun.stderr
