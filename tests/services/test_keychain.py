"""The keychain: keyring only, namespaced per profile, refusing unsafe backends, env fallback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyrings.alt.file import PlaintextKeyring

from callexa_desktop.core.errors import CallexaError
from callexa_desktop.services.keychain import (
    Keychain,
    KeychainUnavailable,
    KeyMissing,
    KeyName,
    KeySource,
    service_name,
    use_backend_for,
)
from tests.services.memory_keyring import LockedKeyring, MemoryKeyring

MEMORY = "tests.services.memory_keyring.MemoryKeyring"


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[MemoryKeyring]]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", MEMORY)
    MemoryKeyring.store.clear()
    yield MemoryKeyring
    MemoryKeyring.store.clear()


def test_a_stored_key_is_read_back_from_the_keychain(
    memory_keyring: type[MemoryKeyring], data_dir: Path
) -> None:
    key = secrets.token_hex(16)
    keychain = Keychain(data_dir)
    keychain.set(KeyName.CALLEXA, key)

    assert Keychain(data_dir).get(KeyName.CALLEXA) == key
    statuses = {s.name: s for s in keychain.status()}
    assert (statuses["callexa"].is_set, statuses["callexa"].source) == (True, KeySource.KEYCHAIN)
    assert (statuses["segment"].is_set, statuses["segment"].source) == (False, KeySource.NOT_SET)


def test_profiles_in_different_folders_never_share_keys(
    memory_keyring: type[MemoryKeyring], tmp_path: Path
) -> None:
    real, demo = tmp_path / "real", tmp_path / "demo"
    key = secrets.token_hex(16)
    Keychain(real).set(KeyName.SEGMENT, key)

    assert Keychain(demo).get(KeyName.SEGMENT) is None
    assert service_name(real) != service_name(demo)
    assert list(memory_keyring.store) == [(service_name(real), "segment")]


def test_the_service_name_depends_on_the_resolved_folder(tmp_path: Path) -> None:
    folder = tmp_path / "profile"
    folder.mkdir()
    spelled_differently = tmp_path / "profile" / ".." / "profile"

    assert service_name(folder) == service_name(spelled_differently)
    assert service_name(folder).startswith("Callexa Desktop (")


def test_status_and_errors_never_contain_the_key(
    memory_keyring: type[MemoryKeyring], data_dir: Path
) -> None:
    key = secrets.token_hex(16)
    keychain = Keychain(data_dir)
    keychain.set(KeyName.CALLEXA, key)

    shown = repr(keychain.status()) + keychain.backend_description()
    assert key not in shown


def test_environment_variables_are_a_read_only_fallback(
    memory_keyring: type[MemoryKeyring], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = secrets.token_hex(16)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", from_env)
    keychain = Keychain(data_dir)

    assert keychain.get(KeyName.SEGMENT) == from_env
    assert {s.name: s.source for s in keychain.status()}["segment"] == KeySource.ENVIRONMENT
    assert keychain.delete(KeyName.SEGMENT) is False
    assert keychain.get(KeyName.SEGMENT) == from_env
    assert memory_keyring.store == {}


def test_the_keychain_wins_over_the_environment(
    memory_keyring: type[MemoryKeyring], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored, from_env = secrets.token_hex(16), secrets.token_hex(16)
    monkeypatch.setenv("CALLEXA_API_KEY", from_env)
    keychain = Keychain(data_dir)
    keychain.set(KeyName.CALLEXA, stored)

    assert keychain.get(KeyName.CALLEXA) == stored


def test_deleting_a_key_removes_it_from_the_keychain(
    memory_keyring: type[MemoryKeyring], data_dir: Path
) -> None:
    keychain = Keychain(data_dir)
    keychain.set(KeyName.CALLEXA, secrets.token_hex(16))

    assert keychain.delete(KeyName.CALLEXA) is True
    assert keychain.get(KeyName.CALLEXA) is None
    assert keychain.delete(KeyName.CALLEXA) is False


def test_a_missing_key_is_required_with_a_sentence_saying_how_to_set_it(data_dir: Path) -> None:
    with pytest.raises(KeyMissing, match=r"keys set callexa.*CALLEXA_API_KEY"):
        Keychain(data_dir).require(KeyName.CALLEXA)


def test_without_a_backend_set_refuses_with_how_to_fix_it(data_dir: Path) -> None:
    # tests/conftest.py selects keyring's fail backend for every test.
    keychain = Keychain(data_dir)
    key = secrets.token_hex(16)

    with pytest.raises(KeychainUnavailable) as refused:
        keychain.set(KeyName.CALLEXA, key)

    message = str(refused.value)
    assert "CALLEXA_API_KEY" in message
    assert "keychain" in message
    assert key not in message
    assert not keychain.is_usable()
    assert keychain.get(KeyName.CALLEXA) is None


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_backends_that_keep_nothing_are_refused(data_dir: Path, backend: KeyringBackend) -> None:
    keychain = Keychain(data_dir, backend=backend)

    with pytest.raises(KeychainUnavailable, match="does not keep secrets safely"):
        keychain.set(KeyName.SEGMENT, secrets.token_hex(16))
    assert [s.is_set for s in keychain.status()] == [False, False]


def test_the_plaintext_file_backend_is_refused_and_nothing_is_written(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Selected the way an operator would, through keyring's own environment variable.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    key = secrets.token_hex(16)

    with pytest.raises(KeychainUnavailable):
        Keychain(data_dir).set(KeyName.CALLEXA, key)

    written = [p for p in tmp_path.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert written == []
    assert not Path(PlaintextKeyring().file_path).exists()


class _UnsafeOnlyChainer(ChainerBackend):
    backends: ClassVar[list[KeyringBackend]] = [PlaintextKeyring(), fail.Keyring()]


class _MixedChainer(ChainerBackend):
    backends: ClassVar[list[KeyringBackend]] = [MemoryKeyring(), PlaintextKeyring()]


def test_a_chainer_of_only_unsafe_backends_is_refused(data_dir: Path) -> None:
    with pytest.raises(KeychainUnavailable):
        Keychain(data_dir, backend=_UnsafeOnlyChainer()).set(KeyName.CALLEXA, "x" * 20)


def test_a_chainer_stores_only_in_its_safe_member(
    memory_keyring: type[MemoryKeyring], data_dir: Path
) -> None:
    key = secrets.token_hex(16)
    Keychain(data_dir, backend=_MixedChainer()).set(KeyName.CALLEXA, key)

    assert memory_keyring.store == {(service_name(data_dir), "callexa"): key}


def test_a_locked_keychain_is_reported_in_a_sentence(data_dir: Path) -> None:
    keychain = Keychain(data_dir, backend=LockedKeyring())
    key = secrets.token_hex(16)

    with pytest.raises(KeychainUnavailable, match="locked") as refused:
        keychain.set(KeyName.CALLEXA, key)
    assert key not in str(refused.value)
    with pytest.raises(KeychainUnavailable, match="locked"):
        keychain.get(KeyName.CALLEXA)
    assert all("locked" in s.problem for s in keychain.status())


def test_a_locked_keychain_falls_back_to_the_environment(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = secrets.token_hex(16)
    monkeypatch.setenv("CALLEXA_API_KEY", from_env)

    assert Keychain(data_dir, backend=LockedKeyring()).get(KeyName.CALLEXA) == from_env


def test_a_misconfigured_backend_name_is_explained_not_raised(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no.such.module.Keyring")
    keychain = Keychain(data_dir)

    assert not keychain.is_usable()
    assert "could not be loaded" in keychain.backend_description()
    with pytest.raises(KeychainUnavailable, match="CALLEXA_API_KEY"):
        keychain.set(KeyName.CALLEXA, secrets.token_hex(16))


@pytest.mark.parametrize("given", ["", "   ", "one\ntwo"], ids=["empty", "blank", "two-lines"])
def test_an_empty_or_multi_line_key_is_refused(
    memory_keyring: type[MemoryKeyring], data_dir: Path, given: str
) -> None:
    with pytest.raises(CallexaError, match="nothing was stored"):
        Keychain(data_dir).set(KeyName.CALLEXA, given)
    assert memory_keyring.store == {}


def test_a_backend_chosen_for_one_profile_serves_every_keychain_of_it_only(
    data_dir: Path, tmp_path: Path
) -> None:
    key = secrets.token_hex(16)
    chosen = MemoryKeyring()
    MemoryKeyring.store.clear()
    use_backend_for(data_dir, chosen)
    try:
        Keychain(data_dir).set(KeyName.CALLEXA, key)
        assert Keychain(data_dir / ".." / data_dir.name).get(KeyName.CALLEXA) == key
        assert not Keychain(tmp_path / "elsewhere").is_usable()  # still the fail backend
    finally:
        use_backend_for(data_dir, None)
        MemoryKeyring.store.clear()
    assert not Keychain(data_dir).is_usable()
