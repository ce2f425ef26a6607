"""The keys dialog: never shows a stored key, tests before saving, refuses without a keychain."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.keys_dialog import KeyChecks, KeysDialog
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.sandbox import Sandbox
from callexa_desktop.services.sandbox.segment import SegmentFake, SegmentServer


@pytest.fixture
def segment_server() -> Iterator[SegmentServer]:
    with SegmentServer(SegmentFake(write_key=secrets.token_hex(16))) as server:
        yield server


def _point_segment_at(profile: Profile, server: SegmentServer) -> None:
    with profile.database.session() as session:
        set_setting(session, "segment_endpoint", server.endpoint)


def _accept_any(secret: str) -> str:
    return "accepted"


def _open(qtbot: QtBot, context: AppContext, keychain: Keychain, **kwargs: object) -> KeysDialog:
    dialog = KeysDialog(context, keychain, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    return dialog


def _visible_texts(dialog: KeysDialog) -> list[str]:
    return [w.text() for w in dialog.findChildren(QLabel)] + [
        w.text() for w in dialog.findChildren(QLineEdit)
    ]


def test_a_stored_key_is_never_shown_only_where_it_is(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    stored = secrets.token_hex(16)
    memory_keychain.set(KeyName.CALLEXA, stored)

    dialog = _open(qtbot, context, memory_keychain)
    panel = dialog.panels[KeyName.CALLEXA]
    panel.show_button.setChecked(True)  # even "Show" has nothing of the stored key to reveal

    assert panel.field.text() == ""
    assert panel.status_label.text() == "Set in the keychain."
    assert not any(stored in text for text in _visible_texts(dialog))
    assert dialog.panels[KeyName.SEGMENT].status_label.text() == "Not set."


def test_a_key_from_the_environment_is_described_not_shown(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = secrets.token_hex(16)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", from_env)

    dialog = _open(qtbot, context, memory_keychain)

    label = dialog.panels[KeyName.SEGMENT].status_label.text()
    assert "SEGMENT_WRITE_KEY" in label
    assert not any(from_env in text for text in _visible_texts(dialog))


def test_the_key_field_is_masked_and_the_toggle_shows_and_hides_it(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    dialog = _open(qtbot, context, memory_keychain)
    panel = dialog.panels[KeyName.SEGMENT]
    assert panel.field.echoMode() == QLineEdit.EchoMode.Password

    panel.show_button.click()
    assert panel.field.echoMode() == QLineEdit.EchoMode.Normal
    panel.show_button.click()
    assert panel.field.echoMode() == QLineEdit.EchoMode.Password


def test_without_a_keychain_the_dialog_says_so_and_save_stays_disabled(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    keychain = Keychain(profile.data_dir)  # conftest selects keyring's "fail" backend
    dialog = _open(qtbot, context, keychain, checks=KeyChecks(_accept_any, _accept_any))
    panel = dialog.panels[KeyName.CALLEXA]
    assert "No secure keychain is available" in dialog.storage_label.text()

    panel.field.setText(secrets.token_hex(16))
    panel.test_button.click()
    qtbot.waitUntil(lambda: "accepted" in panel.result_label.text())

    assert not panel.save_button.isEnabled()
    panel.save()  # even if asked directly, nothing is stored
    assert "was not stored" in panel.result_label.text()
    assert not any(status.is_set for status in keychain.status())


def test_test_connection_against_segment_then_save_stores_the_key(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    memory_keychain: Keychain,
    segment_server: SegmentServer,
) -> None:
    _point_segment_at(profile, segment_server)
    dialog = _open(qtbot, context, memory_keychain)
    panel = dialog.panels[KeyName.SEGMENT]
    key = segment_server.fake.write_key
    assert key is not None
    assert not panel.save_button.isEnabled()

    panel.field.setText(key)
    panel.test_button.click()
    qtbot.waitUntil(lambda: "accepted the write key" in panel.result_label.text())
    assert segment_server.fake.messages == []  # the test sends no event
    assert panel.save_button.isEnabled()

    with qtbot.waitSignal(dialog.keys_changed), qtbot.waitSignal(context.hub.changed) as hub:
        panel.save_button.click()

    assert hub.args == [Topic.KEYS]
    assert memory_keychain.get(KeyName.SEGMENT) == key
    assert panel.field.text() == ""
    assert panel.status_label.text() == "Set in the keychain."


def test_a_key_segment_refuses_cannot_be_saved(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    memory_keychain: Keychain,
    segment_server: SegmentServer,
) -> None:
    _point_segment_at(profile, segment_server)
    dialog = _open(qtbot, context, memory_keychain)
    panel = dialog.panels[KeyName.SEGMENT]
    wrong = secrets.token_hex(16)

    panel.field.setText(wrong)
    panel.test_button.click()
    qtbot.waitUntil(lambda: "refused" in panel.result_label.text())

    assert not panel.save_button.isEnabled()
    assert wrong not in panel.result_label.text()
    assert memory_keychain.get(KeyName.SEGMENT) is None


def test_editing_the_key_after_a_passed_test_asks_for_a_new_test(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    dialog = _open(qtbot, context, memory_keychain, checks=KeyChecks(_accept_any, _accept_any))
    panel = dialog.panels[KeyName.CALLEXA]
    panel.field.setText(secrets.token_hex(16))
    panel.test_button.click()
    qtbot.waitUntil(panel.save_button.isEnabled)

    panel.field.setText(panel.field.text() + "x")

    assert not panel.save_button.isEnabled()
    panel.save()
    assert memory_keychain.get(KeyName.CALLEXA) is None


def test_a_failed_check_shows_its_sentence(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    def refuse(secret: str) -> str:
        raise CallexaError("Callexa refused this API key.")

    dialog = _open(qtbot, context, memory_keychain, checks=KeyChecks(refuse, _accept_any))
    panel = dialog.panels[KeyName.CALLEXA]
    panel.field.setText(secrets.token_hex(16))
    panel.test_button.click()

    qtbot.waitUntil(lambda: "Callexa refused this API key." in panel.result_label.text())
    assert not panel.save_button.isEnabled()


def test_the_stored_key_can_be_tested_without_being_shown(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    stored = secrets.token_hex(16)
    memory_keychain.set(KeyName.CALLEXA, stored)
    checked: list[str] = []

    def remember(secret: str) -> str:
        checked.append(secret)
        return "accepted"

    dialog = _open(qtbot, context, memory_keychain, checks=KeyChecks(remember, _accept_any))
    panel = dialog.panels[KeyName.CALLEXA]
    panel.test_button.click()

    qtbot.waitUntil(lambda: "accepted" in panel.result_label.text())
    assert checked == [stored]
    assert panel.field.text() == ""


def test_removing_a_key_asks_first_and_keeps_it_when_cancelled(
    qtbot: QtBot,
    context: AppContext,
    memory_keychain: Keychain,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory_keychain.set(KeyName.SEGMENT, secrets.token_hex(16))
    answers = iter([False, True])
    questions: list[str] = []

    def answer(_parent: object, _title: str, text: str, *, yes: str = "OK") -> bool:
        questions.append(text)
        return next(answers)

    monkeypatch.setattr(asking, "confirm", answer)
    dialog = _open(qtbot, context, memory_keychain)
    panel = dialog.panels[KeyName.SEGMENT]

    panel.remove_button.click()
    assert memory_keychain.get(KeyName.SEGMENT) is not None

    panel.remove_button.click()
    assert memory_keychain.get(KeyName.SEGMENT) is None
    assert len(questions) == 2
    assert "Segment write key" in questions[0]
    assert panel.status_label.text() == "Not set."
    assert not panel.remove_button.isEnabled()


def test_the_dialog_names_where_keys_are_stored(
    qtbot: QtBot, context: AppContext, memory_keychain: Keychain
) -> None:
    dialog = _open(qtbot, context, memory_keychain)

    assert dialog.storage_label.text() == (
        f"Keys are stored in: {memory_keychain.backend_description()}."
    )


def test_test_connection_against_callexa_accepts_its_key_and_refuses_another(
    qtbot: QtBot, context: AppContext, profile: Profile, memory_keychain: Keychain
) -> None:
    key = secrets.token_hex(16)
    with Sandbox(callexa_api_key=key) as sandbox:
        with profile.database.session() as session:
            set_setting(session, "callexa_base_url", sandbox.callexa_base_url)
        dialog = _open(qtbot, context, memory_keychain)
        panel = dialog.panels[KeyName.CALLEXA]

        wrong = secrets.token_hex(16)
        panel.field.setText(wrong)
        panel.test_button.click()
        qtbot.waitUntil(lambda: "Callexa refused the API key" in panel.result_label.text())
        assert not panel.save_button.isEnabled()
        assert wrong not in panel.result_label.text()

        panel.field.setText(key)
        panel.test_button.click()
        qtbot.waitUntil(lambda: "accepted the API key" in panel.result_label.text())
        assert panel.save_button.isEnabled()
