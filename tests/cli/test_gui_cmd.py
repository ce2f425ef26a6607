"""``gui``: a plain sentence when no window can open; demo or real profile by the keys."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from callexa_desktop.cli import gui_cmd
from callexa_desktop.cli.gui_cmd import NO_DISPLAY, debian_package_for, display_problem, xcb_problem
from callexa_desktop.cli.main import main

PROJECT = Path(__file__).resolve().parents[2]


def _without_display() -> dict[str, str]:
    environment = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        environment.pop(name, None)
    return environment


@pytest.mark.parametrize("arguments", [["gui"], ["gui", "--demo"], []])
def test_without_a_display_the_window_command_says_so_plainly_and_fails(
    arguments: list[str], tmp_path: Path
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "callexa_desktop.cli.main", "--data-dir", str(tmp_path), *arguments],
        env=_without_display(),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode != 0
    assert finished.stderr.strip() == NO_DISPLAY
    assert "Traceback" not in finished.stderr + finished.stdout


def test_without_a_display_nothing_is_created_in_the_profile_folder(tmp_path: Path) -> None:
    profile = tmp_path / "never-created"
    subprocess.run(
        [sys.executable, "-m", "callexa_desktop.cli.main", "--data-dir", str(profile), "gui"],
        env=_without_display(),
        cwd=PROJECT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert not profile.exists()


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({}, True),
        ({"DISPLAY": ":0"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, False),
        ({"QT_QPA_PLATFORM": "offscreen"}, False),
        ({"QT_QPA_PLATFORM": "minimal"}, False),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, True),
        ({"QT_QPA_PLATFORM": "vnc"}, False),
    ],
)
def test_linux_needs_a_display_or_a_headless_platform(
    environment: dict[str, str], problem: bool
) -> None:
    assert (display_problem(environment, "linux") == NO_DISPLAY) is problem


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_always_have_a_display(platform: str) -> None:
    assert display_problem({}, platform) is None


def test_a_missing_xcb_library_is_named_with_its_package(tmp_path: Path) -> None:
    (tmp_path / "libQt6XcbQpa.so.6").write_bytes(b"")

    def load(path: str) -> object:
        raise OSError("libxcb-cursor.so.0: cannot open shared object file: No such file")

    problem = xcb_problem({"DISPLAY": ":0"}, "linux", load=load, qt_library_dir=tmp_path)

    assert problem is not None
    assert "libxcb-cursor.so.0" in problem
    assert "sudo apt install libxcb-cursor0" in problem


def test_xcb_is_not_probed_when_qt_will_not_use_it(tmp_path: Path) -> None:
    (tmp_path / "libQt6XcbQpa.so.6").write_bytes(b"")
    probed: list[str] = []

    def load(path: str) -> object:
        probed.append(path)
        raise OSError("libxcb-cursor.so.0: cannot open shared object file")

    for environment in (
        {"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"},
        {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
    ):
        assert xcb_problem(environment, "linux", load=load, qt_library_dir=tmp_path) is None
    assert probed == []


def test_a_loadable_xcb_plugin_is_no_problem(tmp_path: Path) -> None:
    (tmp_path / "libQt6XcbQpa.so.6").write_bytes(b"")
    problem = xcb_problem(
        {"DISPLAY": ":0"}, "linux", load=lambda path: object(), qt_library_dir=tmp_path
    )
    assert problem is None


@pytest.mark.parametrize(
    ("library", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
    ],
)
def test_library_names_map_to_debian_packages(library: str, package: str) -> None:
    assert debian_package_for(library) == package


class _Launch:
    def __init__(self) -> None:
        self.calls: list[tuple[Path, bool]] = []

    def __call__(self, data_dir: Path, *, demo: bool) -> int:
        self.calls.append((data_dir, demo))
        return 0


@pytest.fixture
def launch(monkeypatch: pytest.MonkeyPatch) -> _Launch:
    """Stands in for the window so the command's choice of profile can be seen."""
    recorder = _Launch()
    fake: Any = types.ModuleType("callexa_desktop.app.launcher")
    fake.run_window = recorder
    monkeypatch.setitem(sys.modules, "callexa_desktop.app.launcher", fake)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return recorder


def test_demo_unless_keys_opens_the_demo_when_no_key_is_set(
    launch: _Launch, tmp_path: Path
) -> None:
    assert main(["--data-dir", str(tmp_path), "gui", "--demo-unless-keys"]) == 0
    assert launch.calls == [(tmp_path, True)]


def test_demo_unless_keys_opens_the_real_profile_when_a_key_is_set(
    launch: _Launch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_WRITE_KEY", secrets.token_hex(16))

    assert main(["--data-dir", str(tmp_path), "gui", "--demo-unless-keys"]) == 0
    assert launch.calls == [(tmp_path, False)]


def test_no_command_opens_the_real_profile(launch: _Launch, tmp_path: Path) -> None:
    assert main(["--data-dir", str(tmp_path)]) == 0
    assert launch.calls == [(tmp_path, False)]


def test_demo_always_opens_the_demo(
    launch: _Launch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLEXA_API_KEY", secrets.token_hex(16))

    assert main(["--data-dir", str(tmp_path), "gui", "--demo"]) == 0
    assert launch.calls == [(tmp_path, True)]


def test_keys_are_set_reads_the_environment_when_the_keychain_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert gui_cmd.keys_are_set(tmp_path) is False
    monkeypatch.setenv("CALLEXA_API_KEY", secrets.token_hex(16))
    assert gui_cmd.keys_are_set(tmp_path) is True
