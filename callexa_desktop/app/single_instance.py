"""One running window per data folder: a second launch asks the first to come to the front.

The first instance listens on a local socket whose name is derived from the
data folder (and the user), so two profiles can be open side by side while the
same profile cannot be opened twice.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

RAISE_MESSAGE = b"raise\n"
# Local sockets connect at once when a listener exists; this only bounds a hung first instance.
CONNECT_TIMEOUT_MS = 1000


def server_name(data_dir: Path) -> str:
    """The local socket name for ``data_dir``: stable, short, and different per user."""
    folder = str(Path(data_dir).expanduser().resolve())
    digest = hashlib.sha256(f"{_user()}\0{folder}".encode()).hexdigest()[:20]
    return f"callexa-desktop-{digest}"


class SingleInstance(QObject):
    """Claims the data folder for this process, or hands over to the instance that has it.

    Call ``claim()`` once, after the QApplication exists. ``raise_requested`` fires
    in the first instance whenever a later launch for the same folder asks for it.
    """

    raise_requested = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        """True when this process is now the instance for the folder; False when another
        one is already running (it has been asked to bring its window to the front)."""
        if self._ask_running_instance_to_raise():
            return False
        server = QLocalServer(self)
        # Only this user may talk to our socket.
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # A socket file left by a crashed instance blocks the name; nobody answered above.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                # Two launches raced: the other one won, so hand over to it.
                if self._ask_running_instance_to_raise():
                    return False
                log.warning("Could not claim the single-instance name: %s", server.errorString())
                return True
        server.newConnection.connect(self._on_new_connection)
        self._server = server
        return True

    def release(self) -> None:
        """Stop listening (the folder may be opened by another process afterwards)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def _ask_running_instance_to_raise(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write(RAISE_MESSAGE)
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def _on_new_connection(self) -> None:
        assert self._server is not None
        while (connection := self._server.nextPendingConnection()) is not None:
            connection.readyRead.connect(self._on_ready_read)
            # The message may already be waiting when the connection is handed to us.
            if connection.bytesAvailable():
                self._read_message(connection)

    def _on_ready_read(self) -> None:
        connection = self.sender()
        if isinstance(connection, QLocalSocket):
            self._read_message(connection)

    def _read_message(self, connection: QLocalSocket) -> None:
        data = bytes(connection.readAll().data())
        if RAISE_MESSAGE.strip() in data:
            log.info("Another launch asked this window to come to the front")
            # One message per connection: done with it.
            connection.readyRead.disconnect(self._on_ready_read)
            connection.abort()
            connection.deleteLater()
            self.raise_requested.emit()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "user"
