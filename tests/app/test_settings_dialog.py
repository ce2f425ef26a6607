"""The settings dialog validates as you type and returns only settings the core accepts."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from callexa_desktop.app.settings_dialog import SettingsDialog
from callexa_desktop.core.settings import SEGMENT_EU_ENDPOINT, Settings


def _dialog(qtbot: QtBot, settings: Settings | None = None) -> SettingsDialog:
    dialog = SettingsDialog(settings or Settings())
    qtbot.addWidget(dialog)
    return dialog


def test_minimum_delay_longer_than_maximum_disables_ok_and_says_why(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.max_delay.setValue(14)
    dialog.min_delay.setValue(20)

    assert not dialog.ok_button.isEnabled()
    assert "cannot be longer than the maximum delay" in dialog.problem_text()
    assert dialog.chosen_settings() is None


def test_fixing_the_combination_enables_ok_again(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.max_delay.setValue(14)
    dialog.min_delay.setValue(20)
    dialog.max_delay.setValue(0)

    assert dialog.ok_button.isEnabled()
    assert dialog.problem_text() == ""


def test_live_sentence_follows_the_rules(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.min_delay.setValue(3)
    dialog.max_delay.setValue(14)

    sentence = dialog.rules_sentence.text()
    assert "surveyed 3 days after sign-up" in sentence
    assert "older than 14 days" in sentence
    assert "once every 26 weeks" in sentence


def test_a_callexa_address_that_is_not_a_web_address_is_refused(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.callexa_url.setText("callexa.example")

    assert not dialog.ok_button.isEnabled()
    assert "http" in dialog.problem_text()


def test_good_settings_come_back_with_every_change(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.min_delay.setValue(3)
    dialog.max_delay.setValue(14)
    dialog.budget.setValue(500)
    dialog.segment_choice.setCurrentIndex(1)
    dialog.poll_url.setText("http://127.0.0.1:9/identify")
    dialog.auto_send.setChecked(True)

    chosen = dialog.chosen_settings()
    assert chosen is not None
    assert (chosen.min_delay_days, chosen.max_delay_days, chosen.monthly_budget) == (3, 14, 500)
    assert chosen.segment_endpoint == SEGMENT_EU_ENDPOINT
    assert chosen.poll_url == "http://127.0.0.1:9/identify"
    assert chosen.auto_send is True
    assert dialog.rules_changed()


def test_changing_only_the_budget_is_not_a_rules_change(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.budget.setValue(10)

    assert not dialog.rules_changed()


def test_custom_segment_address_is_taken_from_the_text_field(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.segment_choice.setCurrentIndex(2)
    dialog.segment_custom.setText("http://127.0.0.1:8765")

    chosen = dialog.chosen_settings()
    assert chosen is not None
    assert chosen.segment_endpoint == "http://127.0.0.1:8765"


def _shows_whole(label: QLabel) -> bool:
    return label.height() >= label.heightForWidth(label.width())


def test_the_rules_sentence_and_a_refusal_show_whole_without_squeezing_the_fields(
    qtbot: QtBot,
) -> None:
    dialog = _dialog(qtbot, Settings(min_delay_days=3, max_delay_days=14, monthly_budget=18))
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: _shows_whole(dialog.rules_sentence))

    dialog.min_delay.setValue(20)

    qtbot.waitUntil(lambda: _shows_whole(dialog.problem))
    for field in (dialog.min_delay, dialog.max_delay, dialog.min_interval, dialog.budget):
        assert field.height() >= field.sizeHint().height()
