"""One window per data folder: a second launch finds the first and asks it to come forward."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from callexa_desktop.app.single_instance import SingleInstance, server_name


def test_a_second_instance_for_the_same_folder_finds_the_first_and_asks_it_to_raise(
    qtbot: QtBot, data_dir: Path
) -> None:
    first = SingleInstance(data_dir)
    assert first.claim() is True
    try:
        second = SingleInstance(data_dir)
        with qtbot.waitSignal(first.raise_requested, timeout=5000):
            assert second.claim() is False
    finally:
        first.release()


def test_instances_for_different_folders_do_not_interfere(qtbot: QtBot, tmp_path: Path) -> None:
    first = SingleInstance(tmp_path / "one")
    other = SingleInstance(tmp_path / "two")
    assert first.claim() is True
    try:
        assert other.claim() is True
    finally:
        other.release()
        first.release()


def test_the_folder_can_be_claimed_again_after_the_first_instance_released_it(
    qtbot: QtBot, data_dir: Path
) -> None:
    first = SingleInstance(data_dir)
    assert first.claim() is True
    first.release()
    again = SingleInstance(data_dir)
    assert again.claim() is True
    again.release()


def test_the_socket_name_is_the_same_for_two_spellings_of_one_folder(tmp_path: Path) -> None:
    assert server_name(tmp_path / "a") == server_name(tmp_path / "x" / ".." / "a")
    assert server_name(tmp_path / "a") != server_name(tmp_path / "b")
