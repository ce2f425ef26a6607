"""The keys dialog: the Callexa API key and the Segment write key, each tested before saving.

A stored key is never shown, not even masked: a key's panel says only where the key
is ("Set in the keychain", "From the environment variable …", "Not set"). A new key is
typed into a masked field (with a show/hide toggle), tested against its service in a
worker ("Test connection"), and only a key that passed the test exactly as typed can be
saved. Without a secure keychain nothing can be saved and the dialog says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.workers import TaskError, WorkerControl
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.services.keychain import (
    ENV_VARS,
    LABELS,
    Keychain,
    KeyName,
    KeySource,
    KeyStatus,
)

log = logging.getLogger(__name__)

# A check takes a key and returns a sentence on success; it raises CallexaError otherwise.
KeyCheck = Callable[[str], str]


@dataclass(frozen=True)
class KeyChecks:
    """How each key is tested against its service (replaceable for tests)."""

    callexa: KeyCheck
    segment: KeyCheck

    def for_key(self, name: str) -> KeyCheck:
        return self.callexa if name == KeyName.CALLEXA else self.segment


def service_checks(context: AppContext) -> KeyChecks:
    """Checks against the services the settings point at (read when the test runs)."""

    def check_callexa(secret: str) -> str:
        from callexa_desktop.services.callexa import CallexaClient

        base_url = context.settings().callexa_base_url
        with CallexaClient(base_url, secret, transport=context.callexa_transport) as client:
            client.check_key()
        return f"Callexa at {base_url} accepted the API key."

    def check_segment(secret: str) -> str:
        from callexa_desktop.services.segment_key_check import check_write_key

        return check_write_key(context.settings().segment_endpoint, secret)

    return KeyChecks(callexa=check_callexa, segment=check_segment)


def describe_status(status: KeyStatus) -> str:
    """Where a key is, in words; never the key."""
    if status.source == KeySource.KEYCHAIN:
        return "Set in the keychain."
    if status.source == KeySource.ENVIRONMENT:
        return (
            f"From the environment variable {ENV_VARS[status.name]} "
            "(read-only; a key saved here takes its place)."
        )
    return "Not set."


class KeyPanel(QGroupBox):
    """One key: where it is, a masked field for a new one, Test connection, Save, Remove.

    Also used by the first-run assistant. ``changed`` fires after a save or a removal.
    """

    changed = Signal(str)  # the key name

    def __init__(
        self,
        name: str,
        *,
        context: AppContext,
        keychain: Keychain,
        check: KeyCheck,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(LABELS[name], parent)
        self.name = name
        self.setObjectName(f"keyPanel_{name}")
        self._context = context
        self._keychain = keychain
        self._check = check
        self._tested_text: str | None = None  # exactly the text that passed the test
        self._testing = False
        self._stored = False
        self._from_environment = False

        self.status_label = QLabel()
        self.status_label.setObjectName("keyStatus")
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText(f"Paste the {LABELS[name]} here")
        # A key may never reach the clipboard from this field, nor be dragged out.
        self.field.setDragEnabled(False)
        self.field.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.field.textChanged.connect(self._on_text_changed)
        self.show_button = QPushButton("Show")
        self.show_button.setCheckable(True)
        self.show_button.setToolTip("Show or hide what you typed")
        self.show_button.toggled.connect(self._on_show_toggled)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self.remove)
        self.result_label = QLabel()
        self.result_label.setObjectName("testResult")
        self.result_label.setWordWrap(True)

        entry = QHBoxLayout()
        entry.addWidget(self.field, 1)
        entry.addWidget(self.show_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addLayout(entry)
        layout.addLayout(buttons)
        layout.addWidget(self.result_label)
        self.refresh()

    # -- what the operator can do --------------------------------------------------------

    def test_connection(self) -> None:
        """Test the typed key, or the stored one when nothing is typed, in a worker."""
        typed = self.field.text().strip()
        if not typed and not self._stored and not self._from_environment:
            self._show_result("Type or paste a key first.", ok=False)
            return
        keychain, name, check = self._keychain, self.name, self._check

        def job(_control: WorkerControl) -> str:
            secret = typed or keychain.require(name)
            return check(secret)

        self._testing = True
        self._show_result("Testing…", ok=None)
        self._update_buttons()
        self._context.run(
            job,
            description=f"testing the {LABELS[name]}",
            on_result=lambda sentence: self._on_test_passed(typed, sentence),
            on_error=self._on_test_failed,
        )

    def save(self) -> None:
        """Store the typed key, if it passed the test exactly as typed."""
        typed = self.field.text().strip()
        if not typed or typed != self._tested_text:
            self._show_result("Test the key before saving it.", ok=False)
            return
        try:
            self._keychain.set(self.name, typed)
        except CallexaError as error:
            self._show_result(str(error), ok=False)
            return
        self.field.clear()
        self._show_result(f"The {LABELS[self.name]} was saved in the keychain.", ok=True)
        self.refresh()
        self.changed.emit(self.name)

    def remove(self) -> None:
        """Delete the stored key after the operator confirms."""
        label = LABELS[self.name]
        question = (
            f"Remove the {label} from the keychain? Callexa Desktop cannot use it until a "
            "key is saved again."
        )
        if not self._stored or not asking.confirm(self, "Remove key", question, yes="Remove"):
            return
        try:
            removed = self._keychain.delete(self.name)
        except CallexaError as error:
            self._show_result(str(error), ok=False)
            return
        if removed:
            self._show_result(f"The {LABELS[self.name]} was removed from the keychain.", ok=True)
        self.refresh()
        self.changed.emit(self.name)

    def refresh(self) -> None:
        """Re-read where the key is (never the key itself)."""
        status = next(s for s in self._keychain.status() if s.name == self.name)
        self._stored = status.source == KeySource.KEYCHAIN
        self._from_environment = status.source == KeySource.ENVIRONMENT
        self.status_label.setText(describe_status(status))
        self._update_buttons()

    # -- internals -----------------------------------------------------------------------

    def _on_test_passed(self, typed: str, sentence: str) -> None:
        self._testing = False
        # The field may have changed while the test ran; only the tested text may be saved.
        self._tested_text = typed or None
        self._show_result(sentence, ok=True)
        self._update_buttons()

    def _on_test_failed(self, error: TaskError) -> None:
        self._testing = False
        self._tested_text = None
        self._show_result(error.sentence, ok=False)
        self._update_buttons()

    def _on_text_changed(self, _text: str) -> None:
        if self._tested_text is not None and self.field.text().strip() != self._tested_text:
            self._tested_text = None
            self.result_label.clear()
        self._update_buttons()

    def _on_show_toggled(self, shown: bool) -> None:
        self.field.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_button.setText("Hide" if shown else "Show")

    def _update_buttons(self) -> None:
        typed = self.field.text().strip()
        usable = self._keychain.is_usable()
        self.test_button.setEnabled(
            not self._testing and bool(typed or self._stored or self._from_environment)
        )
        self.save_button.setEnabled(
            usable and not self._testing and bool(typed) and typed == self._tested_text
        )
        self.save_button.setToolTip(
            "" if usable else "No secure keychain is available, so keys cannot be saved."
        )
        self.remove_button.setEnabled(usable and self._stored and not self._testing)

    def _show_result(self, sentence: str, *, ok: bool | None) -> None:
        mark = {True: "✔ ", False: "✖ ", None: ""}[ok]
        self.result_label.setText(mark + sentence)
        self.result_label.setProperty("ok", ok)


def key_panels(context: AppContext, keychain: Keychain, checks: KeyChecks) -> dict[str, KeyPanel]:
    """One panel per key (Callexa, then Segment); a saved or removed key is announced to
    the whole window (``Topic.KEYS``)."""
    panels = {
        name: KeyPanel(name, context=context, keychain=keychain, check=checks.for_key(name))
        for name in KeyName.ALL
    }
    for panel in panels.values():
        panel.changed.connect(lambda _name: context.hub.notify(Topic.KEYS))
    return panels


class KeysDialog(QDialog):
    """The two keys, where they are stored, and what to do when there is no keychain."""

    keys_changed = Signal()

    def __init__(
        self,
        context: AppContext,
        keychain: Keychain,
        *,
        checks: KeyChecks | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("keysDialog")
        self.setWindowTitle("Keys")
        self._context = context
        self._keychain = keychain
        checks = checks or service_checks(context)

        intro = QLabel(
            "Callexa Desktop needs two keys: the Callexa API key to send surveys and fetch "
            "responses, and the Segment write key to push ratings back to Segment. Each key "
            "is tested against its service before it is saved."
        )
        intro.setWordWrap(True)
        self.storage_label = QLabel()
        self.storage_label.setObjectName("keyStorage")
        self.storage_label.setWordWrap(True)
        self.panels: Mapping[str, KeyPanel] = key_panels(context, keychain, checks)
        for panel in self.panels.values():
            panel.changed.connect(lambda _name: self.keys_changed.emit())
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.storage_label)
        for panel in self.panels.values():
            layout.addWidget(panel)
        layout.addWidget(close)
        self.resize(560, self.sizeHint().height())
        self._show_storage()

    def _show_storage(self) -> None:
        if self._keychain.is_usable():
            self.storage_label.setText(
                f"Keys are stored in: {self._keychain.backend_description()}."
            )
            self.storage_label.setProperty("problem", False)
        else:
            self.storage_label.setText(
                f"No secure keychain is available here ({self._keychain.backend_description()}), "
                "so keys cannot be saved: nothing will be stored. Unlock or install a keychain "
                "(macOS Keychain, Windows Credential Manager, GNOME Keyring or KWallet), or give "
                "the keys as the environment variables CALLEXA_API_KEY and SEGMENT_WRITE_KEY."
            )
            self.storage_label.setProperty("problem", True)
