"""Our own exception types. Each carries one sentence an operator can act on.

The command line prints ``str(error)``; the window shows it. Neither shows a
traceback. Never put a secret into a message.
"""

from __future__ import annotations


class CallexaError(Exception):
    """Base for every error the operator may see; ``str()`` is a full sentence."""


class UnreadableFile(CallexaError):
    """A file could not be read as any supported format at all."""


class SettingRefused(CallexaError):
    """A setting value was refused; the message says why."""


class DatabaseTooNew(CallexaError):
    """The database was written by a newer version of Callexa Desktop."""


class DatabaseProblem(CallexaError):
    """The database could not be opened or upgraded."""


class NotFound(CallexaError):
    """Something the operator named does not exist (a survey id, a customer)."""


class ActionRefused(CallexaError):
    """An operator action does not apply to the thing it was asked of."""


class ResourceMissing(CallexaError):
    """A file that ships with the program (icon, desktop entry) is missing from the installation."""


class SyncRefused(CallexaError):
    """A sync to Segment cannot run (no or malformed write key); the message says what to do."""


class ExportCancelled(CallexaError):
    """The operator cancelled an export; no file was saved."""


class ExportFailed(CallexaError):
    """An export could not be written (folder missing, no permission, disk full)."""
