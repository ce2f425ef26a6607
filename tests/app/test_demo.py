"""The demo profile: a throwaway folder, sample data through the real core, keys in memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import func, select

from callexa_desktop.app.demo import Demo, open_demo_profile
from callexa_desktop.core.models import Customer, Response, Survey
from callexa_desktop.core.queue import due_count
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.syncing import sync_ratings
from tests.conftest import FakeClock


@pytest.fixture
def demo(clock: FakeClock) -> Iterator[Demo]:
    opened = open_demo_profile(clock=clock)
    yield opened
    opened.close()


def _count(demo: Demo, table: type) -> int:
    with demo.profile.database.session() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_the_demo_profile_is_marked_demo_and_lives_in_a_temporary_folder(demo: Demo) -> None:
    assert demo.profile.demo is True
    assert demo.folder.name.startswith("callexa-demo-")
    assert demo.profile.data_dir.is_relative_to(demo.folder)


def test_it_has_sample_customers_a_queue_with_due_and_later_surveys_and_responses(
    demo: Demo, clock: FakeClock
) -> None:
    assert demo.summary["identify"]["accepted"] == _count(demo, Customer) - 1  # + the walk-in
    surveys = _count(demo, Survey)
    with demo.profile.database.session() as session:
        due = due_count(session, clock())
    assert 0 < due < surveys
    assert _count(demo, Response) == demo.summary["responses"]["recorded"] > 0
    assert demo.summary["identify"]["decisions"]["skipped_too_old"] > 0


def test_the_settings_point_at_the_running_sandbox(demo: Demo) -> None:
    settings = demo.profile.settings()
    assert settings.callexa_base_url == demo.sandbox.callexa_base_url
    assert settings.segment_endpoint == demo.sandbox.segment_endpoint
    assert demo.sandbox.running


def test_the_demo_keys_are_in_memory_and_every_keychain_of_the_demo_finds_them(
    demo: Demo,
) -> None:
    for_the_folder = Keychain(demo.profile.data_dir)

    assert for_the_folder.get(KeyName.CALLEXA) == demo.keychain.get(KeyName.CALLEXA)
    assert for_the_folder.get(KeyName.SEGMENT) is not None
    assert "in-memory" in for_the_folder.backend_description()


def test_the_demo_ratings_sync_to_the_sandbox_segment(demo: Demo) -> None:
    key = demo.keychain.require(KeyName.SEGMENT)

    summary = sync_ratings(demo.profile, key)

    assert summary.ok
    assert summary.delivered == len(demo.sandbox.segment.snapshot()) > 0
    assert summary.not_syncable == ["walk-in.customer@example.com"]


def test_it_unpacks_as_profile_and_sandbox(demo: Demo) -> None:
    profile, sandbox = demo
    assert profile is demo.profile
    assert sandbox is demo.sandbox


def test_closing_stops_the_sandbox_deletes_the_folder_and_forgets_the_keys(
    clock: FakeClock,
) -> None:
    demo = open_demo_profile(clock=clock)
    data_dir = demo.profile.data_dir

    demo.close()

    assert not demo.folder.exists()
    assert not demo.sandbox.running
    assert not Keychain(data_dir).is_usable()  # back to the test's "fail" keychain
