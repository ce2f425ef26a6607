"""A keychain backend registered for one profile folder is used by every Keychain of that folder."""

from __future__ import annotations

import secrets
from pathlib import Path

from callexa_desktop.services.keychain import Keychain, KeyName, use_backend_for
from tests.services.memory_keyring import InMemoryKeyring


def test_every_keychain_of_the_folder_uses_the_registered_backend(tmp_path: Path) -> None:
    folder, other = tmp_path / "demo", tmp_path / "real"
    key = secrets.token_hex(16)
    use_backend_for(folder, InMemoryKeyring())
    try:
        Keychain(folder).set(KeyName.SEGMENT, key)

        assert Keychain(folder / "x" / "..").get(KeyName.SEGMENT) == key
        assert not Keychain(other).is_usable()  # conftest's "fail" backend still rules elsewhere
    finally:
        use_backend_for(folder, None)

    assert not Keychain(folder).is_usable()
