"""``keys set|status|delete``: secrets from stdin or a hidden prompt, never shown."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from callexa_desktop.cli import keys_cmd
from callexa_desktop.cli.main import main
from callexa_desktop.services.keychain import service_name
from tests.services.memory_keyring import MemoryKeyring


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[MemoryKeyring]]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.services.memory_keyring.MemoryKeyring")
    MemoryKeyring.store.clear()
    yield MemoryKeyring
    MemoryKeyring.store.clear()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def keys(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "keys", *args])


def test_a_key_is_read_from_stdin_and_stored_without_being_shown(
    memory_keyring: type[MemoryKeyring],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = secrets.token_hex(16)
    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))

    assert keys(data_dir, "set", "callexa") == 0

    assert memory_keyring.store == {(service_name(data_dir), "callexa"): key}
    out, err = capsys.readouterr()
    assert "Callexa API key is stored" in out
    assert key not in out + err


def test_on_a_terminal_the_key_is_asked_for_with_a_hidden_prompt(
    memory_keyring: type[MemoryKeyring], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = secrets.token_hex(16)
    prompts: list[str] = []
    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr(keys_cmd.getpass, "getpass", lambda prompt: prompts.append(prompt) or key)

    assert keys(data_dir, "set", "segment") == 0
    assert prompts == ["Segment write key (input hidden): "]
    assert memory_keyring.store[(service_name(data_dir), "segment")] == key


def test_a_key_on_the_command_line_is_not_accepted(
    memory_keyring: type[MemoryKeyring], data_dir: Path
) -> None:
    with pytest.raises(SystemExit) as usage:
        keys(data_dir, "set", "callexa", secrets.token_hex(16))
    assert usage.value.code == 2
    assert memory_keyring.store == {}


def test_without_a_keychain_set_refuses_before_reading_and_stores_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # tests/conftest.py selects keyring's fail backend.
    stdin = io.StringIO(secrets.token_hex(16))
    monkeypatch.setattr("sys.stdin", stdin)

    assert keys(data_dir, "set", "callexa") == 1

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "CALLEXA_API_KEY" in err
    assert stdin.tell() == 0


def test_an_empty_input_stores_nothing(
    memory_keyring: type[MemoryKeyring],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))

    assert keys(data_dir, "set", "callexa") == 1
    assert "empty" in capsys.readouterr().err
    assert memory_keyring.store == {}


def test_status_says_where_each_key_comes_from_and_never_shows_it(
    memory_keyring: type[MemoryKeyring],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stored, from_env = secrets.token_hex(16), secrets.token_hex(16)
    monkeypatch.setattr("sys.stdin", io.StringIO(stored))
    keys(data_dir, "set", "callexa")
    monkeypatch.setenv("SEGMENT_WRITE_KEY", from_env)
    capsys.readouterr()

    assert keys(data_dir, "status") == 0
    assert keys(data_dir, "status", "--json") == 0

    out = capsys.readouterr().out
    assert stored not in out
    assert from_env not in out
    table, _, as_json = out.partition("{")
    assert "Callexa API key    yes  keychain" in table
    assert "Segment write key  yes  environment variable" in table
    report = json.loads("{" + as_json)
    assert [(k["name"], k["set"], k["source"]) for k in report["keys"]] == [
        ("callexa", True, "keychain"),
        ("segment", True, "environment"),
    ]
    assert report["keychain_usable"] is True


def test_delete_removes_the_key_of_this_profile_only(
    memory_keyring: type[MemoryKeyring],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    for folder in (mine, other):
        monkeypatch.setattr("sys.stdin", io.StringIO(secrets.token_hex(16)))
        keys(folder, "set", "callexa")

    assert keys(mine, "delete", "callexa") == 0
    assert keys(mine, "delete", "callexa") == 0

    out = capsys.readouterr().out
    assert "was deleted" in out
    assert "nothing to delete" in out
    assert list(memory_keyring.store) == [(service_name(other), "callexa")]
