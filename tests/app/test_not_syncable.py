"""Who cannot be synced yet: listed with why, from the sync's line in the Activity tab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.main_window import MainWindow
from callexa_desktop.app.not_syncable import (
    NotSyncableDialog,
    NotSyncableModel,
    customers_not_syncable,
    heading_for,
)
from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, start_run
from callexa_desktop.core.models import Customer
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, record_responses
from callexa_desktop.services.syncing import SyncSummary
from tests.app.factories import column_texts


def _answered(profile: Profile, email: str, rating: int, *, user_id: str | None = None) -> None:
    now = profile.clock()
    if user_id is not None:
        with profile.database.session() as session:
            session.add(Customer(email=email, user_id=user_id, first_seen_at=now))
    with profile.database.session() as session:
        record_responses(
            session, [ResponseRecord(email, rating, "", now, "test")], source="test", now=now
        )


@pytest.fixture
def two_answers(profile: Profile) -> None:
    _answered(profile, "ann@example.com", 9, user_id="user-ann")
    _answered(profile, "walk-in@example.com", 7)  # answered, never identified


def test_only_customers_without_user_or_anonymous_id_are_listed(
    profile: Profile, two_answers: None
) -> None:
    with profile.database.session() as session:
        customers, total = customers_not_syncable(session)

    assert [(c.email, c.rating) for c in customers] == [("walk-in@example.com", 7)]
    assert total == 1


def test_a_long_list_says_how_many_there_are_in_all() -> None:
    assert heading_for(5000, 7200).endswith("The first 5,000 are listed.")
    assert heading_for(0, 0).startswith("Every customer with a rating waiting can be synced")


@pytest.fixture
def window(qtbot: QtBot, context: AppContext, profile: Profile) -> Iterator[MainWindow]:
    summary = SyncSummary(run_id=1, to_send=1, delivered=1, not_syncable=["walk-in@example.com"])
    run = start_run(profile.database, RunKind.SYNC, clock=profile.clock)
    finish_run(
        profile.database,
        run,
        status=RunStatus.OK,
        # As the sync records it: the emails without ids are counted, not listed.
        summary={**summary.as_dict(), "not_syncable": 1, "rejected": 0},
        message=summary.sentence(),
        clock=profile.clock,
    )
    made = MainWindow(context)
    qtbot.addWidget(made)
    made.show()
    activity = made.activity_view
    made.tabs.setCurrentWidget(activity)
    qtbot.waitUntil(lambda: activity.model.rowCount() == 1)
    activity.table.selectRow(0)
    yield made
    made.close()


def _listed(qtbot: QtBot, dialog: NotSyncableDialog) -> list[str]:
    qtbot.waitUntil(lambda: dialog.loaded)
    return column_texts(dialog.model, NotSyncableModel.EMAIL)


def test_the_sync_count_opens_the_list_of_customers_and_why(
    qtbot: QtBot, window: MainWindow, two_answers: None
) -> None:
    activity = window.activity_view
    assert "1 customer can't be synced yet" in activity.details.toPlainText()
    assert activity.show_not_syncable.isVisible()

    activity.show_not_syncable.click()

    dialog = window.not_syncable_dialog
    assert dialog is not None
    assert _listed(qtbot, dialog) == ["walk-in@example.com"]
    assert column_texts(dialog.model, NotSyncableModel.WHY) == ["No userId or anonymousId yet"]
    assert dialog.heading.text().startswith("1 customer answered, but Segment cannot be told")
    dialog.close()


def test_the_show_who_link_in_the_details_opens_the_same_list(
    qtbot: QtBot, window: MainWindow, two_answers: None
) -> None:
    assert 'href="#not-syncable"' in window.activity_view.details.toHtml()

    window.activity_view.details.anchorClicked.emit(QUrl("#not-syncable"))

    dialog = window.not_syncable_dialog
    assert dialog is not None
    assert _listed(qtbot, dialog) == ["walk-in@example.com"]
    dialog.close()


def test_runs_other_than_syncs_offer_no_list(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    start_run(profile.database, RunKind.IMPORT, clock=profile.clock)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    activity = window.activity_view
    window.tabs.setCurrentWidget(activity)
    qtbot.waitUntil(lambda: activity.model.rowCount() == 1)

    activity.table.selectRow(0)

    assert activity.show_not_syncable.isHidden()
    window.close()
