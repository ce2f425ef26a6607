"""The first-run assistant: welcome → keys → delay rules → first import.

Shown once, for a profile that has no keys, no customers and was never set up. Whether
the assistant was finished or skipped is remembered in the ``cursor`` table (row
``first_run``), so it never comes back for that profile. Keys are saved by the key
panels themselves (tested first, as in the keys dialog); the rules are saved when the
assistant finishes; the chosen files are handed back (``chosen_files()``) for the
window's own import, which shows progress and the summary.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)
from sqlalchemy import func
from sqlmodel import select

from callexa_desktop import APP_NAME
from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.keys_dialog import KeyChecks, key_panels, service_checks
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.models import Cursor, Customer
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import Settings, check_settings, describe_rules, save_settings
from callexa_desktop.services.keychain import Keychain

log = logging.getLogger(__name__)

FIRST_RUN_CURSOR = "first_run"


class FirstRunOutcome:
    FINISHED = "finished"
    SKIPPED = "skipped"


def first_run_needed(profile: Profile, keychain: Keychain) -> bool:
    """True for a profile never set up, with no customers and no key anywhere."""
    if profile.demo:
        return False
    with profile.database.session() as session:
        if session.get(Cursor, FIRST_RUN_CURSOR) is not None:
            return False
        if session.exec(select(func.count()).select_from(Customer)).one():
            return False
    try:
        return not any(status.is_set for status in keychain.status())
    except CallexaError:
        return True


def remember_first_run(profile: Profile, outcome: str) -> None:
    """Record that the assistant was finished or skipped, so it is not shown again."""
    with profile.database.session() as session:
        session.merge(Cursor(name=FIRST_RUN_CURSOR, value=outcome, updated_at=profile.clock()))


class FirstRunWizard(QWizard):
    """The assistant. After ``exec``/``open`` ends, ``chosen_files()`` lists files to import."""

    def __init__(
        self,
        context: AppContext,
        keychain: Keychain,
        *,
        checks: KeyChecks | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunWizard")
        self.setWindowTitle(f"Welcome to {APP_NAME}")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.CancelButton, "Skip setup")
        self._context = context
        self.welcome_page = _WelcomePage()
        self.keys_page = _KeysPage(context, keychain, checks or service_checks(context))
        self.rules_page = _RulesPage(context.settings())
        self.import_page = _ImportPage()
        for page in (self.welcome_page, self.keys_page, self.rules_page, self.import_page):
            self.addPage(page)
        self.resize(640, 520)

    def chosen_files(self) -> list[Path]:
        """The identify files the operator picked on the last page (empty if none)."""
        return list(self.import_page.files)

    def accept(self) -> None:
        """Save the rules and remember the assistant was finished."""
        rules = self.rules_page.chosen_settings()
        if rules is None:
            return  # the page keeps Finish disabled; this is a guard, not a path
        with self._context.profile.database.session() as session:
            save_settings(session, rules)
        remember_first_run(self._context.profile, FirstRunOutcome.FINISHED)
        self._context.hub.notify(Topic.SETTINGS)
        super().accept()

    def reject(self) -> None:
        """Skipping is remembered too: the assistant does not come back."""
        remember_first_run(self._context.profile, FirstRunOutcome.SKIPPED)
        self.import_page.files.clear()
        super().reject()


class _WelcomePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(f"Welcome to {APP_NAME}")
        text = QLabel(
            "Callexa Desktop sends Net Promoter Score surveys to your customers at the right "
            "moment and pushes their ratings back to Segment.\n\n"
            "This short setup asks for three things:\n"
            "  1. your Callexa API key and Segment write key (kept in your computer's keychain),\n"
            "  2. when customers should be surveyed,\n"
            "  3. a first file of customers (Segment identify records) to import.\n\n"
            "You can skip any step and change everything later from the menus."
        )
        text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(text)


class _KeysPage(QWizardPage):
    def __init__(self, context: AppContext, keychain: Keychain, checks: KeyChecks) -> None:
        super().__init__()
        self.setTitle("Your keys")
        self.setSubTitle(
            "Each key is tested against its service before it is saved. "
            "You can also add them later (Keys… in the menu)."
        )
        layout = QVBoxLayout(self)
        if not keychain.is_usable():
            warning = QLabel(
                "No secure keychain is available here, so keys cannot be saved. Unlock or "
                "install a keychain, or give the keys as the environment variables "
                "CALLEXA_API_KEY and SEGMENT_WRITE_KEY."
            )
            warning.setObjectName("keychainProblem")
            warning.setWordWrap(True)
            layout.addWidget(warning)
        self.panels = key_panels(context, keychain, checks)
        for panel in self.panels.values():
            layout.addWidget(panel)
        layout.addStretch(1)


class _RulesPage(QWizardPage):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.setTitle("When to survey")
        self.setSubTitle("These rules decide when each customer gets a survey.")
        self._base = settings
        self.min_delay = _spin(settings.min_delay_days, 3650)
        self.max_delay = _spin(settings.max_delay_days, 3650)
        self.max_delay.setSpecialValueText("no limit")
        self.min_interval = _spin(settings.min_interval_weeks, 520)
        self.budget = _spin(settings.monthly_budget, 10_000_000)
        self.budget.setSpecialValueText("no limit")
        self.sentence = QLabel()
        self.sentence.setObjectName("rulesSentence")
        self.sentence.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setObjectName("rulesProblem")
        self.problem.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Wait after sign-up (days)", self.min_delay)
        form.addRow("Skip customers older than (days)", self.max_delay)
        form.addRow("Survey each customer at most once every (weeks)", self.min_interval)
        form.addRow("Surveys per month at most", self.budget)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.sentence)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        for box in (self.min_delay, self.max_delay, self.min_interval, self.budget):
            box.valueChanged.connect(self._on_changed)
        self._on_changed()

    def chosen_settings(self) -> Settings | None:
        """The settings with the chosen rules, or None while the combination is refused."""
        candidate = self._candidate()
        try:
            check_settings(candidate)
        except CallexaError:
            return None
        return candidate

    def isComplete(self) -> bool:
        return self.chosen_settings() is not None

    def _candidate(self) -> Settings:
        return replace(
            self._base,
            min_delay_days=self.min_delay.value(),
            max_delay_days=self.max_delay.value(),
            min_interval_weeks=self.min_interval.value(),
            monthly_budget=self.budget.value(),
        )

    def _on_changed(self) -> None:
        candidate = self._candidate()
        try:
            check_settings(candidate)
        except CallexaError as error:
            self.problem.setText(str(error))
            self.sentence.setText("")
        else:
            self.problem.setText("")
            self.sentence.setText(describe_rules(candidate))
        self.completeChanged.emit()


class _ImportPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Your first customers")
        self.setSubTitle(
            "Pick one or more Segment identify exports (JSON, NDJSON, CSV, optionally "
            "gzip-compressed). They are imported when you press Finish; you can also import "
            "later, or drop files on the window."
        )
        self.files: list[Path] = []
        self.choose_button = QPushButton("Choose files…")
        self.choose_button.clicked.connect(self._choose)
        self.file_list = QListWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.choose_button)
        layout.addWidget(self.file_list)

    def _choose(self) -> None:
        picked = asking.ask_import_files(self)
        if picked:
            self.files = picked
            self.file_list.clear()
            self.file_list.addItems([str(path) for path in picked])


def _spin(value: int, maximum: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, maximum)
    box.setValue(value)
    return box
