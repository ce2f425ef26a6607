"""The status bar: the latest message at the left; keys set or missing, due surveys, budget
left this month, last and next sync at the right.

The facts are collected in a worker (the keychain and the database may be slow)
whenever data changes and once a minute, and shown as short labels. The message gets the
room the facts leave: a longer one is cut with "…" and shown whole in its tooltip.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.time_text import local_time, local_zone, relative_hint
from callexa_desktop.app.workers import TaskError, WorkerControl
from callexa_desktop.core.activity import RunKind, last_successful
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.queue import due_count
from callexa_desktop.core.schedule import next_sync_due
from callexa_desktop.core.sending import budget_remaining
from callexa_desktop.services.keychain import Keychain, KeyName, KeySource, KeyStatus

log = logging.getLogger(__name__)

SOURCE_WORDS = {
    KeySource.KEYCHAIN: "set, in the keychain",
    KeySource.ENVIRONMENT: "set, from its environment variable",
    KeySource.NOT_SET: "not set",
}
REFRESH_EVERY_MS = 60_000
# Several "data changed" announcements in a burst make one refresh.
DEBOUNCE_MS = 250


# Where a sentence's first clause ends: "Segment refused the write key (HTTP 401); …".
_CLAUSE_END = re.compile(r"\s*(?:[;(]|[.:!?](?:\s|$))")


def first_clause(sentence: str) -> str:
    """The first clause of ``sentence``, without its final stop: a status-bar headline."""
    found = _CLAUSE_END.search(sentence)
    return (sentence[: found.start()] if found else sentence).strip()


class StatusMessage(QLabel):
    """The status bar's latest message: one line at the left, cut with "…" to the room the
    facts at the right leave, whole (with any details) in its tooltip, gone after a while."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusMessage")
        # Whatever room is left, never more: the facts at the right are never pushed aside.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.full_text = ""
        self._expire = QTimer(self, singleShot=True)
        self._expire.timeout.connect(self.clear_message)

    def show_message(self, text: str, timeout_ms: int = 0, *, details: str = "") -> None:
        """Show ``text`` (``details`` only in the tooltip) for ``timeout_ms``; 0 = until the
        next message."""
        self.full_text = text
        whole = text if not details or details == text else f"{text}\n\n{details}"
        # Rich text, so a long tooltip wraps instead of running off the screen.
        self.setToolTip("<p>" + html.escape(whole).replace("\n", "<br>") + "</p>")
        self._fit()
        if timeout_ms > 0:
            self._expire.start(timeout_ms)
        else:
            self._expire.stop()

    def clear_message(self) -> None:
        self.full_text = ""
        self.setToolTip("")
        self.setText("")

    @property
    def cut(self) -> bool:
        """True when the message is longer than its room (shown ending in "…")."""
        return self.text() != self.full_text

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = max(0, self.contentsRect().width())
        self.setText(
            self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, room)
        )


@dataclass(frozen=True)
class StatusFacts:
    """What the status bar shows, gathered off the GUI thread."""

    keys: tuple[KeyStatus, ...]
    keys_problem: str
    due: int
    monthly_budget: int  # 0 = no limit
    budget_left: int | None  # None = no limit
    last_sync: datetime | None
    next_sync: datetime | None  # None without a Segment key


def collect_status(profile: Profile, zone: tzinfo) -> StatusFacts:
    """Read the keys' status, due count, budget and sync times for the status bar."""
    now = profile.clock()
    keys_problem = ""
    try:
        keys = tuple(Keychain(profile.data_dir).status())
    except CallexaError as error:
        keys, keys_problem = (), str(error)
    settings = profile.settings()
    with profile.database.session() as session:
        due = due_count(session, now)
        left = budget_remaining(session, settings, now)
        last = last_successful(session, RunKind.SYNC)
    last_at = last.started_at if last is not None else None
    has_segment_key = any(key.is_set for key in keys if key.name == KeyName.SEGMENT)
    next_at = next_sync_due(last_at, settings.sync_time, now, zone) if has_segment_key else None
    return StatusFacts(keys, keys_problem, due, settings.monthly_budget, left, last_at, next_at)


class StatusPanel(QObject):
    """Labels in ``status_bar``, kept up to date from ``collect_status``."""

    def __init__(
        self,
        context: AppContext,
        status_bar: QStatusBar,
        *,
        zone: Callable[[], tzinfo] = local_zone,
    ) -> None:
        super().__init__(status_bar)
        self._context = context
        self._zone = zone
        self.facts: StatusFacts | None = None
        # Short: it is always shown, and every pixel it takes is gone from the messages.
        self.demo_label = QLabel("DEMO", objectName="demoLabel")
        self.demo_label.setToolTip(
            "Sample data and a local sandbox: nothing reaches Callexa or Segment, and the "
            "demo is deleted when the window closes."
        )
        self.demo_label.setStyleSheet(
            "QLabel { background: #f2c200; color: black; font-weight: bold; padding: 0 6px; }"
        )
        self.demo_label.setVisible(context.profile.demo)
        self.keys_label = QLabel("", objectName="keysStatus")
        self.due_label = QLabel("", objectName="dueStatus")
        self.budget_label = QLabel("", objectName="budgetStatus")
        self.sync_label = QLabel("", objectName="syncStatus")
        # Permanent, so a passing message ("Settings saved.") never hides the DEMO mark.
        status_bar.addPermanentWidget(self.demo_label)
        for label in (self.keys_label, self.due_label, self.budget_label, self.sync_label):
            # Some room between the facts: the status bar draws no separators of its own.
            label.setContentsMargins(10, 0, 10, 0)
            status_bar.addPermanentWidget(label)
        self._loading = False
        self._again = False
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)
        self._every_minute = QTimer(self, interval=REFRESH_EVERY_MS)
        self._every_minute.timeout.connect(self.refresh)
        self._every_minute.start()
        context.hub.changed.connect(lambda _topic: self._debounce.start())

    def refresh(self) -> None:
        """Collect the facts again in the background and show them."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        profile, zone = self._context.profile, self._zone()

        def job(_control: WorkerControl) -> StatusFacts:
            return collect_status(profile, zone)

        self._context.run(
            job, description="reading the status", on_result=self._show, on_error=self._failed
        )

    def stop(self) -> None:
        self._every_minute.stop()
        self._debounce.stop()

    def _show(self, facts: StatusFacts) -> None:
        self.facts = facts
        now = self._context.now()
        self.keys_label.setText(keys_text(facts))
        self.keys_label.setToolTip(keys_tooltip(facts))
        self.due_label.setText(f"{facts.due:,} due" if facts.due != 1 else "1 due")
        self.due_label.setToolTip("Surveys whose time has come and that were not sent yet")
        if facts.budget_left is None:
            self.budget_label.setText("Budget: no limit")
            self.budget_label.setToolTip("No monthly limit on the surveys sent (Settings)")
        else:
            # Short: every pixel the facts take is gone from the messages at the left.
            self.budget_label.setText(
                f"Budget: {facts.budget_left:,} of {facts.monthly_budget:,} left"
            )
            self.budget_label.setToolTip(
                f"{facts.budget_left:,} of this month's {facts.monthly_budget:,} surveys are "
                "left; the budget starts again on the 1st"
            )
        last = f"last {_ago(facts.last_sync, now)}" if facts.last_sync else "never synced"
        if facts.next_sync is None:
            upcoming = "no Segment key"
        elif facts.next_sync <= now:
            upcoming = "due now"
        else:
            upcoming = f"next {local_time(facts.next_sync)}"
        self.sync_label.setText(f"Sync: {last}, {upcoming}")
        self._done()

    def _failed(self, error: TaskError) -> None:
        log.warning("Could not refresh the status bar: %s", error.sentence)
        self._done()

    def _done(self) -> None:
        self._loading = False
        if self._again:
            self._again = False
            self.refresh()


def _ago(moment: datetime, now: datetime) -> str:
    hint = relative_hint(moment, now)
    # "last now" reads like a typo; under a minute ago is "just now".
    return "just now" if hint == "now" else hint


KEY_NAMES = {KeyName.CALLEXA: "Callexa", KeyName.SEGMENT: "Segment"}


def keys_text(facts: StatusFacts) -> str:
    """ "Keys ✓" when every key is set, else the missing ones ("Keys: Segment missing"), or
    the keychain problem in short."""
    if not facts.keys:
        return "Keys: keychain unavailable"
    missing = [KEY_NAMES.get(key.name, key.name) for key in facts.keys if not key.is_set]
    if not missing:
        return "Keys ✓"
    return "Keys: " + " · ".join(f"{name} missing" for name in missing)


def keys_tooltip(facts: StatusFacts) -> str:
    """Where each key comes from (never the key), and where to set them."""
    if not facts.keys:
        return facts.keys_problem or "Set the keys under Keys…"
    lines = [f"{key.label}: {SOURCE_WORDS.get(key.source, key.source)}" for key in facts.keys]
    return "\n".join([*lines, "Set the keys under Keys…"])
