"""The settings dialog: delay rules checked as you type, with a live sentence of their effect.

The dialog only edits a ``Settings`` value; the main window saves it (in a worker)
and offers a re-plan when the delay rules changed. Every check is the core's own
(``parse_setting`` per field, ``check_settings`` for the combination), so the
window refuses exactly what ``settings set`` refuses.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, QTime
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app import asking
from callexa_desktop.core.errors import SettingRefused
from callexa_desktop.core.settings import (
    SEGMENT_EU_ENDPOINT,
    SEGMENT_US_ENDPOINT,
    SPECS,
    Settings,
    check_settings,
    describe_rules,
    parse_setting,
)

RULE_KEYS = ("min_delay_days", "max_delay_days", "min_interval_weeks")

SEGMENT_CHOICES = (
    ("Segment US (api.segment.io)", SEGMENT_US_ENDPOINT),
    ("Segment EU (events.eu1.segmentapis.com)", SEGMENT_EU_ENDPOINT),
    ("Another address…", ""),
)


class SettingsDialog(QDialog):
    """Edits a copy of ``settings``; ``chosen_settings()`` gives the result after OK."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self._original = settings
        self._chosen: Settings | None = settings

        self.min_delay = _spin(0, 3650, " days", SPECS["min_delay_days"].help)
        self.max_delay = _spin(0, 3650, " days", SPECS["max_delay_days"].help, zero="off")
        self.min_interval = _spin(0, 520, " weeks", SPECS["min_interval_weeks"].help)
        self.budget = _spin(
            0, 10_000_000, " surveys", SPECS["monthly_budget"].help, zero="no limit"
        )
        self.rules_sentence = QLabel(objectName="rulesSentence", wordWrap=True)
        self.problem = QLabel(objectName="settingsProblem", wordWrap=True)
        self.problem.setStyleSheet("color: #b00020;")

        self.segment_choice = QComboBox(objectName="segmentChoice")
        for label, _endpoint in SEGMENT_CHOICES:
            self.segment_choice.addItem(label)
        self.segment_custom = QLineEdit(objectName="segmentCustom")
        self.segment_custom.setPlaceholderText("https://…")
        self.callexa_url = QLineEdit(objectName="callexaUrl")
        self.callexa_url.setToolTip(SPECS["callexa_base_url"].help)

        self.poll_folder = QLineEdit(objectName="pollFolder")
        self.poll_folder.setPlaceholderText("no folder watched")
        self.poll_folder.setToolTip(SPECS["poll_folder"].help)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_folder)
        self.poll_url = QLineEdit(objectName="pollUrl")
        self.poll_url.setPlaceholderText("no feed")
        self.poll_url.setToolTip(SPECS["poll_url"].help)
        self.poll_interval = _spin(1, 24 * 60, " minutes", SPECS["poll_interval_minutes"].help)

        self.sync_time = QTimeEdit(objectName="syncTime")
        self.sync_time.setDisplayFormat("HH:mm")
        self.sync_time.setToolTip(SPECS["sync_time"].help)
        self.auto_send = QCheckBox(SPECS["auto_send"].label, objectName="autoSend")
        self.auto_send.setToolTip(SPECS["auto_send"].help)
        self.close_to_tray = QCheckBox(SPECS["close_to_tray"].label, objectName="closeToTray")
        self.close_to_tray.setToolTip(SPECS["close_to_tray"].help)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        self._lay_out(browse)
        self._show(settings)
        for spin in (self.min_delay, self.max_delay, self.min_interval, self.budget):
            spin.valueChanged.connect(self._revalidate)
        self.poll_interval.valueChanged.connect(self._revalidate)
        for edit in (self.segment_custom, self.callexa_url, self.poll_folder, self.poll_url):
            edit.textChanged.connect(self._revalidate)
        self.segment_choice.currentIndexChanged.connect(self._segment_choice_changed)
        self.sync_time.timeChanged.connect(self._revalidate)
        self.auto_send.toggled.connect(self._revalidate)
        self.close_to_tray.toggled.connect(self._revalidate)
        self._revalidate()

    # Qt sizes a window from its layout's minimum, which does not know how many lines the
    # wrapped sentence and refusal need at the dialog's real width: grow to fit them whole.

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_wrapped_text()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_wrapped_text()

    # results -----------------------------------------------------------------

    def chosen_settings(self) -> Settings | None:
        """The edited settings when they are valid, else None."""
        return self._chosen

    def rules_changed(self) -> bool:
        """True when the delay rules differ from the ones the dialog opened with."""
        chosen = self._chosen
        return chosen is not None and any(
            getattr(chosen, key) != getattr(self._original, key) for key in RULE_KEYS
        )

    def problem_text(self) -> str:
        return self.problem.text()

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    # layout and values -------------------------------------------------------

    def _lay_out(self, browse: QPushButton) -> None:
        rules = QGroupBox("Who gets a survey, and when")
        form = QFormLayout(rules)
        form.addRow(SPECS["min_delay_days"].label, self.min_delay)
        form.addRow(SPECS["max_delay_days"].label, self.max_delay)
        form.addRow(SPECS["min_interval_weeks"].label, self.min_interval)
        form.addRow(SPECS["monthly_budget"].label, self.budget)
        form.addRow(self.rules_sentence)

        services = QGroupBox("Services")
        form = QFormLayout(services)
        form.addRow(SPECS["segment_endpoint"].label, self.segment_choice)
        form.addRow("", self.segment_custom)
        form.addRow(SPECS["callexa_base_url"].label, self.callexa_url)

        sources = QGroupBox("Where identify records come from")
        form = QFormLayout(sources)
        # A widget of its own (not a bare layout), so its children are parented at once.
        folder_row = QWidget()
        folder_layout = QHBoxLayout(folder_row)
        folder_layout.setContentsMargins(0, 0, 0, 0)
        folder_layout.addWidget(self.poll_folder, 1)
        folder_layout.addWidget(browse)
        form.addRow(SPECS["poll_folder"].label, folder_row)
        form.addRow(SPECS["poll_url"].label, self.poll_url)
        form.addRow(SPECS["poll_interval_minutes"].label, self.poll_interval)

        running = QGroupBox("While the app runs")
        form = QFormLayout(running)
        form.addRow(SPECS["sync_time"].label, self.sync_time)
        form.addRow(self.auto_send)
        form.addRow(self.close_to_tray)

        layout = QVBoxLayout(self)
        for group in (rules, services, sources, running):
            layout.addWidget(group)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

    def _show(self, settings: Settings) -> None:
        self.min_delay.setValue(settings.min_delay_days)
        self.max_delay.setValue(settings.max_delay_days)
        self.min_interval.setValue(settings.min_interval_weeks)
        self.budget.setValue(settings.monthly_budget)
        choice = next(
            (n for n, (_l, e) in enumerate(SEGMENT_CHOICES) if e == settings.segment_endpoint),
            len(SEGMENT_CHOICES) - 1,
        )
        self.segment_choice.setCurrentIndex(choice)
        self.segment_custom.setText(settings.segment_endpoint)
        self.segment_custom.setEnabled(choice == len(SEGMENT_CHOICES) - 1)
        self.callexa_url.setText(settings.callexa_base_url)
        self.poll_folder.setText(settings.poll_folder)
        self.poll_url.setText(settings.poll_url)
        self.poll_interval.setValue(settings.poll_interval_minutes)
        hours, minutes = (int(part) for part in settings.sync_time.split(":"))
        self.sync_time.setTime(QTime(hours, minutes))
        self.auto_send.setChecked(settings.auto_send)
        self.close_to_tray.setChecked(settings.close_to_tray)

    def _texts(self) -> dict[str, str]:
        """Each setting as the text the operator entered, ready for ``parse_setting``."""
        endpoint = SEGMENT_CHOICES[self.segment_choice.currentIndex()][1]
        return {
            "min_delay_days": str(self.min_delay.value()),
            "max_delay_days": str(self.max_delay.value()),
            "min_interval_weeks": str(self.min_interval.value()),
            "monthly_budget": str(self.budget.value()),
            "segment_endpoint": endpoint or self.segment_custom.text(),
            "callexa_base_url": self.callexa_url.text(),
            "poll_folder": self.poll_folder.text(),
            "poll_url": self.poll_url.text(),
            "poll_interval_minutes": str(self.poll_interval.value()),
            "sync_time": self.sync_time.time().toString("HH:mm"),
            "auto_send": "true" if self.auto_send.isChecked() else "false",
            "close_to_tray": "true" if self.close_to_tray.isChecked() else "false",
        }

    # validation ----------------------------------------------------------------

    def _revalidate(self) -> None:
        try:
            values: dict[str, Any] = {k: parse_setting(k, t) for k, t in self._texts().items()}
            candidate = replace(self._original, **values)
            check_settings(candidate)
        except SettingRefused as refusal:
            self._chosen = None
            self.problem.setText(str(refusal))
            self.rules_sentence.setText("")
        else:
            self._chosen = candidate
            self.problem.setText("")
            self.rules_sentence.setText(describe_rules(candidate))
        self.problem.setVisible(bool(self.problem.text()))
        self.ok_button.setEnabled(self._chosen is not None)
        self._fit_wrapped_text()

    def _fit_wrapped_text(self) -> None:
        layout = self.layout()
        if layout is None or not self.isVisible():
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        if needed <= 0:
            return
        self.setMinimumHeight(needed)
        if self.height() < needed:
            self.resize(self.width(), needed)

    def _segment_choice_changed(self, index: int) -> None:
        custom = index == len(SEGMENT_CHOICES) - 1
        self.segment_custom.setEnabled(custom)
        if not custom:
            self.segment_custom.setText(SEGMENT_CHOICES[index][1])
        self._revalidate()

    def _browse_folder(self) -> None:
        folder = asking.ask_folder(self, self.poll_folder.text())
        if folder:
            self.poll_folder.setText(folder)


def _spin(low: int, high: int, suffix: str, tip: str, *, zero: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(True)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    if zero:
        # Shown instead of "0 days": the rule is off, not "zero days".
        spin.setSpecialValueText(zero)
    return spin
