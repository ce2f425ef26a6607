"""The watched folder: complete new or changed files are imported once, unfinished ones wait."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from callexa_desktop.core.activity import RunKind
from callexa_desktop.core.importing import ImportSummary, import_files
from callexa_desktop.core.models import ActivityRun, Cursor, Customer
from callexa_desktop.core.polling import (
    CURSOR_PREFIX,
    SETTLE_SECONDS,
    FileState,
    Remembered,
    plan_folder,
    poll_folder,
)
from callexa_desktop.core.profile import Profile
from tests.conftest import FakeClock
from tests.core.identify_lines import identify_lines

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RECENT = NOW - timedelta(seconds=10)
LONG_AGO = NOW - timedelta(seconds=SETTLE_SECONDS + 1)


def state(size: int, mtime_ns: int = 1, touched_at: datetime = RECENT) -> FileState:
    return FileState(size=size, mtime_ns=mtime_ns, touched_at=touched_at)


# -- the plan (pure) ---------------------------------------------------------------------------


def test_a_file_just_written_waits_for_the_next_check() -> None:
    plan = plan_folder({"/in/a.ndjson": state(100)}, {}, now=NOW)
    assert (plan.ready, plan.waiting) == ([], ["/in/a.ndjson"])


def test_a_file_unchanged_since_the_previous_check_is_ready() -> None:
    remembered = {"/in/a.ndjson": Remembered(seen=(100, 1))}
    plan = plan_folder({"/in/a.ndjson": state(100)}, remembered, now=NOW)
    assert (plan.ready, plan.waiting) == (["/in/a.ndjson"], [])


def test_a_file_that_grew_since_the_previous_check_keeps_waiting() -> None:
    remembered = {"/in/a.ndjson": Remembered(seen=(100, 1))}
    plan = plan_folder({"/in/a.ndjson": state(250, mtime_ns=2)}, remembered, now=NOW)
    assert (plan.ready, plan.waiting) == ([], ["/in/a.ndjson"])


def test_a_file_untouched_for_the_settle_time_is_ready_on_first_sight() -> None:
    plan = plan_folder({"/in/old.csv": state(100, touched_at=LONG_AGO)}, {}, now=NOW)
    assert plan.ready == ["/in/old.csv"]


def test_a_file_imported_as_it_is_now_is_left_alone() -> None:
    remembered = {"/in/a.ndjson": Remembered(seen=(100, 1), imported=(100, 1))}
    plan = plan_folder({"/in/a.ndjson": state(100, touched_at=LONG_AGO)}, remembered, now=NOW)
    assert (plan.ready, plan.waiting) == ([], [])


def test_a_file_changed_after_its_import_is_imported_again_once_settled() -> None:
    remembered = {"/in/a.ndjson": Remembered(seen=(100, 1), imported=(100, 1))}
    grown = {"/in/a.ndjson": state(300, mtime_ns=5)}
    assert plan_folder(grown, remembered, now=NOW).waiting == ["/in/a.ndjson"]
    settled = {"/in/a.ndjson": Remembered(seen=(300, 5), imported=(100, 1))}
    assert plan_folder(grown, settled, now=NOW).ready == ["/in/a.ndjson"]


def test_ready_files_come_oldest_first() -> None:
    observed = {
        "/in/b.ndjson": state(1, mtime_ns=20, touched_at=LONG_AGO),
        "/in/a.ndjson": state(1, mtime_ns=30, touched_at=LONG_AGO),
        "/in/c.ndjson": state(1, mtime_ns=10, touched_at=LONG_AGO),
    }
    assert plan_folder(observed, {}, now=NOW).ready == [
        "/in/c.ndjson",
        "/in/b.ndjson",
        "/in/a.ndjson",
    ]


# -- checking a real folder with the real import -----------------------------------------------


@pytest.fixture
def live_clock() -> FakeClock:
    # File times come from the real clock, so this fake one starts at the real now.
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def live_profile(data_dir: Path, live_clock: FakeClock) -> Iterator[Profile]:
    opened = Profile.open(data_dir, clock=live_clock)
    yield opened
    opened.close()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def customer_emails(profile: Profile) -> list[str]:
    with profile.database.session() as session:
        return sorted(session.exec(select(Customer.email)))


def poll_runs(profile: Profile) -> list[ActivityRun]:
    with profile.database.session() as session:
        query = select(ActivityRun).where(ActivityRun.kind == RunKind.POLL)
        return list(session.exec(query.order_by(col(ActivityRun.id))))


def test_new_files_are_imported_at_the_check_after_they_were_first_seen(
    live_profile: Profile, inbox: Path
) -> None:
    (inbox / "monday.ndjson").write_text(identify_lines(1, 2))
    (inbox / "tuesday.csv").write_text("email,name\nperson3@example.com,Three\n")

    first = poll_folder(live_profile, inbox)
    assert first.imported_files == []
    assert sorted(first.waiting_files) == [
        str(inbox / "monday.ndjson"),
        str(inbox / "tuesday.csv"),
    ]
    assert customer_emails(live_profile) == []

    second = poll_folder(live_profile, inbox)
    assert sorted(second.imported_files) == [
        str(inbox / "monday.ndjson"),
        str(inbox / "tuesday.csv"),
    ]
    assert second.summary is not None
    assert second.summary.accepted == 3
    assert customer_emails(live_profile) == [
        "person1@example.com",
        "person2@example.com",
        "person3@example.com",
    ]
    assert [run.status for run in poll_runs(live_profile)] == ["ok"]

    third = poll_folder(live_profile, inbox)
    assert (third.imported_files, third.waiting_files, third.summary) == ([], [], None)
    assert len(poll_runs(live_profile)) == 1


def test_files_untouched_for_a_while_are_imported_at_the_first_check(
    live_profile: Profile, live_clock: FakeClock, inbox: Path
) -> None:
    (inbox / "export.ndjson").write_text(identify_lines(1))
    live_clock.advance(seconds=SETTLE_SECONDS + 5)
    result = poll_folder(live_profile, inbox)
    assert result.imported_files == [str(inbox / "export.ndjson")]
    assert customer_emails(live_profile) == ["person1@example.com"]


def test_a_file_still_being_written_is_not_imported_until_it_stops_changing(
    live_profile: Profile, inbox: Path
) -> None:
    path = inbox / "growing.ndjson"
    path.write_text(identify_lines(1))
    assert poll_folder(live_profile, inbox).waiting_files == [str(path)]
    with path.open("a") as growing:
        growing.write(identify_lines(2))
    _bump_mtime(path)
    assert poll_folder(live_profile, inbox).waiting_files == [str(path)]
    assert customer_emails(live_profile) == []
    assert poll_folder(live_profile, inbox).imported_files == [str(path)]
    assert customer_emails(live_profile) == ["person1@example.com", "person2@example.com"]


def test_a_file_that_grows_after_its_import_brings_only_its_new_records(
    live_profile: Profile, inbox: Path
) -> None:
    path = inbox / "daily.ndjson"
    path.write_text(identify_lines(1, 2))
    poll_folder(live_profile, inbox)
    assert poll_folder(live_profile, inbox).imported_files == [str(path)]

    with path.open("a") as growing:
        growing.write(identify_lines(3))
    _bump_mtime(path)
    assert poll_folder(live_profile, inbox).waiting_files == [str(path)]
    again = poll_folder(live_profile, inbox)
    assert again.summary is not None
    assert (again.summary.accepted, again.summary.duplicates) == (1, 2)
    assert len(customer_emails(live_profile)) == 3


def test_other_files_in_the_folder_are_left_alone(
    live_profile: Profile, live_clock: FakeClock, inbox: Path
) -> None:
    (inbox / "README.md").write_text("not for us")
    (inbox / "download.ndjson.part").write_text(identify_lines(1))
    (inbox / ".hidden.ndjson").write_text(identify_lines(2))
    (inbox / "sub").mkdir()
    (inbox / "sub" / "nested.ndjson").write_text(identify_lines(3))
    (inbox / "people.ndjson.gz").write_bytes(b"")
    live_clock.advance(seconds=SETTLE_SECONDS + 5)
    result = poll_folder(live_profile, inbox)
    assert result.imported_files == [str(inbox / "people.ndjson.gz")]
    assert customer_emails(live_profile) == []


def test_an_unreadable_file_is_refused_once_and_not_retried_until_it_changes(
    live_profile: Profile, live_clock: FakeClock, inbox: Path
) -> None:
    (inbox / "broken.json").write_bytes(bytes(range(256)) * 8)
    live_clock.advance(seconds=SETTLE_SECONDS + 5)
    first = poll_folder(live_profile, inbox)
    assert first.summary is not None
    assert [name for name, _ in first.summary.refused_files] == [str(inbox / "broken.json")]
    assert "not a text file" in first.summary.refused_files[0][1]
    second = poll_folder(live_profile, inbox)
    assert second.summary is None


def test_a_missing_folder_gives_a_sentence_not_an_error(
    live_profile: Profile, tmp_path: Path
) -> None:
    result = poll_folder(live_profile, tmp_path / "nowhere")
    assert result.problem == (
        f"The watched folder {tmp_path / 'nowhere'} does not exist; check the setting or create it."
    )
    assert result.summary is None


def test_files_that_disappear_are_forgotten(live_profile: Profile, inbox: Path) -> None:
    path = inbox / "once.ndjson"
    path.write_text(identify_lines(1))
    poll_folder(live_profile, inbox)
    assert _cursor_names(live_profile) == [CURSOR_PREFIX + str(path)]
    path.unlink()
    poll_folder(live_profile, inbox)
    assert _cursor_names(live_profile) == []


def test_a_cancelled_import_leaves_its_files_to_be_imported_again(
    live_profile: Profile, live_clock: FakeClock, inbox: Path
) -> None:
    (inbox / "a.ndjson").write_text(identify_lines(1))
    live_clock.advance(seconds=SETTLE_SECONDS + 5)

    def cancelled_import(profile: Profile, paths: Sequence[Path]) -> ImportSummary:
        return import_files(profile, paths, kind=RunKind.POLL, should_cancel=lambda: True)

    first = poll_folder(live_profile, inbox, importer=cancelled_import)
    assert first.summary is not None
    assert first.summary.cancelled
    assert first.imported_files == []
    second = poll_folder(live_profile, inbox)
    assert second.imported_files == [str(inbox / "a.ndjson")]


def _bump_mtime(path: Path) -> None:
    # Some file systems keep a coarse mtime; make the change visible whatever the clock did.
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def _cursor_names(profile: Profile) -> list[str]:
    with profile.database.session() as session:
        rows = session.exec(select(Cursor.name).where(col(Cursor.name).startswith(CURSOR_PREFIX)))
        return sorted(rows)
