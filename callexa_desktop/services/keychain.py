"""The two secrets — the Callexa API key and the Segment write key — in the OS keychain.

Secrets go through ``keyring`` only, honouring keyring's own configuration
(``PYTHON_KEYRING_BACKEND``, ``keyringrc.cfg``). They are filed under a service name
namespaced per profile: ``"Callexa Desktop (<12 hex digits>)"``, the digits being the
start of the SHA-256 of the resolved data folder path. A demo or test profile (a
different folder) therefore never reads or overwrites the operator's real keys; the
user name is the key's name (``callexa`` or ``segment``).

A backend that would not keep a secret safely — keyring's ``fail`` and ``null``
backends, the plaintext/file backends of ``keyrings.alt``, or a chainer of only those —
is refused: ``set`` stores nothing and raises ``KeychainUnavailable`` with a sentence
saying how to fix it. For headless runs the environment variables ``CALLEXA_API_KEY`` and
``SEGMENT_WRITE_KEY`` are read (never written) when the keychain holds no key.

No secret ever reaches a log record, printed text or an exception message here.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.core
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringLocked, PasswordDeleteError

from callexa_desktop.core.errors import CallexaError

log = logging.getLogger(__name__)

SERVICE_PREFIX = "Callexa Desktop"


class KeyName:
    CALLEXA = "callexa"
    SEGMENT = "segment"

    ALL = (CALLEXA, SEGMENT)


class KeySource:
    KEYCHAIN = "keychain"
    ENVIRONMENT = "environment"
    NOT_SET = "not set"


ENV_VARS = {KeyName.CALLEXA: "CALLEXA_API_KEY", KeyName.SEGMENT: "SEGMENT_WRITE_KEY"}
LABELS = {KeyName.CALLEXA: "Callexa API key", KeyName.SEGMENT: "Segment write key"}

# Backends that exist but keep nothing, or keep it in a plain file: never trusted with a key.
_UNSAFE_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

_HOW_TO_FIX = (
    "install or unlock a keychain (macOS Keychain, Windows Credential Manager, "
    "or GNOME Keyring/KWallet through the Secret Service), or for headless runs give the keys "
    "as the environment variables CALLEXA_API_KEY and SEGMENT_WRITE_KEY"
)


class KeychainUnavailable(CallexaError):
    """No secure keychain can be used, or it refused the operation; the message says what to do."""


class KeyMissing(CallexaError):
    """A key that a command needs is set nowhere; the message says how to set it."""


@dataclass(frozen=True)
class KeyStatus:
    """Whether one key is set and where it comes from — never the key itself."""

    name: str
    is_set: bool
    source: str  # KeySource.KEYCHAIN | ENVIRONMENT | NOT_SET
    problem: str = ""  # a sentence when the keychain could not be asked

    @property
    def label(self) -> str:
        return LABELS[self.name]


class Keychain:
    """The keys of one profile (``data_dir``), in the keychain keyring is configured to use.

    ``backend`` overrides keyring's choice (tests, or a caller that already picked one).
    """

    def __init__(self, data_dir: Path, *, backend: KeyringBackend | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.service = service_name(self.data_dir)
        # A backend registered for this folder (the demo's in-memory keychain) wins over keyring's.
        self._given_backend = (
            backend if backend is not None else _FOLDER_BACKENDS.get(self.data_dir)
        )

    # -- reading -------------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        """The key ``name`` from the keychain, else its environment variable, else None.

        Raises KeychainUnavailable when the keychain failed (e.g. locked) and the
        environment does not hold the key either.
        """
        _check_name(name)
        backend, _unusable = self._usable_backend()
        if backend is not None:
            try:
                with _keychain_errors(f"The {LABELS[name]} could not be read from the keychain"):
                    secret = backend.get_password(self.service, name)
            except KeychainUnavailable as error:
                from_env = _from_environment(name)
                if from_env is None:
                    raise
                log.warning("Keychain unreadable (%s); using the environment variable", error)
                return from_env
            if secret:
                return secret
        return _from_environment(name)

    def require(self, name: str) -> str:
        """Like ``get`` but raises KeyMissing with how to set the key when it is set nowhere."""
        secret = self.get(name)
        if secret is None:
            raise KeyMissing(
                f"No {LABELS[name]} is set for this profile; store it with "
                f"`callexa-desktop keys set {name}` (it is read from standard input), "
                f"or give it as the environment variable {ENV_VARS[name]}."
            )
        return secret

    def status(self) -> list[KeyStatus]:
        """For each key: set or not, and from where (keychain / environment / not set)."""
        backend, unusable = self._usable_backend()
        rows = []
        for name in KeyName.ALL:
            in_keychain = False
            problem = unusable or ""
            if backend is not None:
                try:
                    with _keychain_errors("The keychain could not be read"):
                        in_keychain = bool(backend.get_password(self.service, name))
                except KeychainUnavailable as error:
                    problem = str(error)
            if in_keychain:
                rows.append(KeyStatus(name, True, KeySource.KEYCHAIN, ""))
            elif _from_environment(name) is not None:
                rows.append(KeyStatus(name, True, KeySource.ENVIRONMENT, problem))
            else:
                rows.append(KeyStatus(name, False, KeySource.NOT_SET, problem))
        return rows

    # -- changing ------------------------------------------------------------------------

    def set(self, name: str, secret: str) -> None:
        """Store ``secret`` as key ``name`` for this profile.

        Raises KeychainUnavailable (storing nothing) when no secure keychain is usable or
        it refused, and KeyMissing-style CallexaError for an empty secret.
        """
        _check_name(name)
        secret = secret.strip()
        if not secret:
            raise CallexaError(f"The {LABELS[name]} given was empty; nothing was stored.")
        if any(ch in secret for ch in "\r\n\0"):
            raise CallexaError(
                f"The {LABELS[name]} given spans several lines; nothing was stored. "
                "Give the key alone, on one line."
            )
        backend = self._backend_or_refuse(f"The {LABELS[name]} was not stored")
        with _keychain_errors(f"The {LABELS[name]} could not be stored in the keychain"):
            backend.set_password(self.service, name, secret)
        log.info("Stored the %s for this profile in %s", LABELS[name], _describe(backend))

    def delete(self, name: str) -> bool:
        """Remove key ``name`` of this profile from the keychain; False if it was not there.

        The environment variables are not ours to change; a key from there stays.
        """
        _check_name(name)
        backend = self._backend_or_refuse(f"The {LABELS[name]} could not be deleted")
        with _keychain_errors(f"The {LABELS[name]} could not be deleted from the keychain"):
            if backend.get_password(self.service, name) is None:
                return False
            try:
                backend.delete_password(self.service, name)
            except PasswordDeleteError:
                return False
        log.info("Deleted the %s of this profile from the keychain", LABELS[name])
        return True

    # -- the backend ---------------------------------------------------------------------

    def is_usable(self) -> bool:
        """True when a secure keychain is available to store keys in."""
        return self._usable_backend()[0] is not None

    def require_usable(self) -> None:
        """Raise KeychainUnavailable, saying how to fix it, when no secure keychain is usable."""
        self._backend_or_refuse("No key can be stored")

    def backend_description(self) -> str:
        """A short human name of the keychain in use, e.g. ``"SecretService Keyring"``."""
        backend, problem = self._usable_backend()
        if backend is not None:
            return _describe(backend)
        return f"no secure keychain ({problem})"

    def _backend_or_refuse(self, what_happened: str) -> KeyringBackend:
        backend, problem = self._usable_backend()
        if backend is None:
            raise KeychainUnavailable(f"{what_happened}: {problem}; {_HOW_TO_FIX}.")
        return backend

    def _usable_backend(self) -> tuple[KeyringBackend | None, str]:
        """The secure backend to use, or None and the reason in a few words."""
        try:
            configured = self._given_backend or configured_backend()
        except Exception as error:  # a misconfigured keyringrc or env var name
            log.warning("The configured keyring backend could not be loaded: %r", error)
            return None, "the keychain configured for keyring could not be loaded"
        return secure_backend(configured)


# Backends that every Keychain of one profile folder uses in this process (see use_backend_for).
_FOLDER_BACKENDS: dict[Path, KeyringBackend] = {}


def use_backend_for(data_dir: Path, backend: KeyringBackend | None) -> None:
    """Make every ``Keychain(data_dir)`` created in this process use ``backend``.

    The demo registers its in-memory keychain this way, so code that only knows the profile
    folder still finds the demo keys, and nothing reaches the operator's keychain. ``None``
    removes the registration.
    """
    folder = Path(data_dir).expanduser().resolve()
    if backend is None:
        _FOLDER_BACKENDS.pop(folder, None)
    else:
        _FOLDER_BACKENDS[folder] = backend


def service_name(data_dir: Path) -> str:
    """The keychain service name for the profile in ``data_dir`` (see the module docstring)."""
    resolved = str(Path(data_dir).expanduser().resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    return f"{SERVICE_PREFIX} ({digest})"


def configured_backend() -> KeyringBackend:
    """The backend keyring's configuration picks.

    ``PYTHON_KEYRING_BACKEND`` is re-read on every call (so a process that changes it, such
    as a test, is honoured); otherwise keyring's own choice (``keyring.set_keyring``, the
    ``keyringrc.cfg`` file, or the highest-priority installed backend) is used.
    """
    from_env = keyring.core.load_env()
    return from_env if from_env is not None else keyring.get_keyring()


def secure_backend(backend: KeyringBackend) -> tuple[KeyringBackend | None, str]:
    """``backend`` if it keeps secrets safely (for a chainer: its best safe member).

    Otherwise ``(None, reason)`` where the reason names the refused backend.
    """
    if isinstance(backend, ChainerBackend):
        safe = [member for member in backend.backends if _is_safe(member)]
        if safe:
            return safe[0], ""  # members come sorted by priority, best first
        return None, "only keychains that do not keep secrets safely are available"
    if _is_safe(backend):
        return backend, ""
    return (
        None,
        f"the keychain available to keyring ({_describe(backend)}) does not keep secrets safely",
    )


def _is_safe(backend: KeyringBackend) -> bool:
    module = type(backend).__module__
    return not module.startswith(_UNSAFE_MODULE_PREFIXES)


def _describe(backend: KeyringBackend) -> str:
    name = getattr(backend, "name", "") or type(backend).__name__
    return str(name)


def _from_environment(name: str) -> str | None:
    value = os.environ.get(ENV_VARS[name], "").strip()
    return value or None


def _check_name(name: str) -> None:
    if name not in KeyName.ALL:
        raise CallexaError(f"There is no key called {name!r}; the keys are callexa and segment.")


@contextmanager
def _keychain_errors(what_happened: str) -> Iterator[None]:
    """Turn any backend failure into KeychainUnavailable without the backend's own text."""
    try:
        yield
    except KeychainUnavailable:
        raise
    except KeyringLocked:
        raise KeychainUnavailable(
            f"{what_happened}: the keychain is locked; unlock it (or log in to the desktop "
            "session) and try again."
        ) from None
    except Exception as error:
        # The backend's message could in principle echo what it was given; keep only the type.
        log.warning("%s (%s)", what_happened, type(error).__name__)
        raise KeychainUnavailable(
            f"{what_happened} ({type(error).__name__}); check that the keychain is running "
            f"and unlocked, or {_HOW_TO_FIX}."
        ) from None
