"""The first-run assistant: shown once for a blank profile; keys, rules with a live sentence."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.first_run import (
    FirstRunWizard,
    first_run_needed,
    remember_first_run,
)
from callexa_desktop.app.keys_dialog import KeyChecks
from callexa_desktop.core.models import Customer
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.keychain import Keychain, KeyName


def _accept(secret: str) -> str:
    return "accepted"


def _wizard(qtbot: QtBot, context: AppContext, keychain: Keychain) -> FirstRunWizard:
    wizard = FirstRunWizard(context, keychain, checks=KeyChecks(_accept, _accept))
    qtbot.addWidget(wizard)
    return wizard


def test_a_blank_profile_needs_the_first_run_assistant(
    profile: Profile, memory_keychain: Keychain
) -> None:
    assert first_run_needed(profile, memory_keychain) is True


def test_a_profile_with_customers_does_not(profile: Profile, memory_keychain: Keychain) -> None:
    with profile.database.session() as session:
        session.add(Customer(email="ann@example.com"))
    assert first_run_needed(profile, memory_keychain) is False


def test_a_profile_with_a_key_does_not(profile: Profile, memory_keychain: Keychain) -> None:
    memory_keychain.set(KeyName.SEGMENT, secrets.token_hex(16))
    assert first_run_needed(profile, memory_keychain) is False


def test_once_finished_or_skipped_it_is_not_shown_again(
    profile: Profile, memory_keychain: Keychain
) -> None:
    remember_first_run(profile, "skipped")
    assert first_run_needed(profile, memory_keychain) is False


def test_the_demo_profile_never_shows_it(profile: Profile, memory_keychain: Keychain) -> None:
    profile.demo = True
    assert first_run_needed(profile, memory_keychain) is False


def test_the_rules_page_explains_the_rules_as_they_change(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    wizard = _wizard(qtbot, context, memory_keychain)
    page = wizard.rules_page
    page.min_delay.setValue(3)
    page.max_delay.setValue(14)

    assert page.sentence.text() == (
        "New customers are surveyed 3 days after sign-up; customers older than 14 days when "
        "identified are never surveyed; nobody more than once every 26 weeks."
    )
    assert page.isComplete()


def test_the_rules_page_refuses_a_minimum_longer_than_the_maximum(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    wizard = _wizard(qtbot, context, memory_keychain)
    page = wizard.rules_page
    page.max_delay.setValue(14)
    page.min_delay.setValue(20)

    assert not page.isComplete()
    assert "cannot be longer than the maximum delay" in page.problem.text()
    assert page.chosen_settings() is None


def test_finishing_saves_the_rules_remembers_it_and_hands_back_the_files(
    qtbot: QtBot,
    context: AppContext,
    memory_keychain: Keychain,
    profile: Profile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    export = tmp_path / "identify.ndjson"
    export.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(asking, "ask_import_files", lambda parent: [export])
    wizard = _wizard(qtbot, context, memory_keychain)
    wizard.rules_page.min_delay.setValue(3)
    wizard.rules_page.budget.setValue(250)
    wizard.import_page.choose_button.click()

    wizard.accept()

    assert wizard.chosen_files() == [export]
    settings = profile.settings()
    assert (settings.min_delay_days, settings.monthly_budget) == (3, 250)
    assert first_run_needed(profile, memory_keychain) is False


def test_a_key_saved_in_the_assistant_is_tested_first_and_kept(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    wizard = _wizard(qtbot, context, memory_keychain)
    panel = wizard.keys_page.panels[KeyName.CALLEXA]
    key = secrets.token_hex(16)
    panel.field.setText(key)
    assert not panel.save_button.isEnabled()

    panel.test_button.click()
    qtbot.waitUntil(panel.save_button.isEnabled)
    panel.save_button.click()

    assert memory_keychain.get(KeyName.CALLEXA) == key


def test_skipping_is_remembered_and_imports_nothing(
    qtbot: QtBot,
    context: AppContext,
    memory_keychain: Keychain,
    profile: Profile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(asking, "ask_import_files", lambda parent: [tmp_path / "x.csv"])
    wizard = _wizard(qtbot, context, memory_keychain)
    wizard.import_page.choose_button.click()
    wizard.rules_page.min_delay.setValue(9)

    wizard.reject()

    assert wizard.chosen_files() == []
    assert profile.settings().min_delay_days == 0
    assert first_run_needed(profile, memory_keychain) is False
