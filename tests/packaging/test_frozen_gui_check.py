"""Behaviour that only shows in a PyInstaller bundle, reproduced without building one."""

from __future__ import annotations

from pathlib import Path

from callexa_desktop.cli.gui_cmd import xcb_problem


def test_missing_x11_library_is_named_even_when_pyinstaller_rewrapped_the_load_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "libQt6XcbQpa.so.6").touch()

    def frozen_load(path: str) -> object:
        # PyInstaller's ctypes wrapper replaces the loader's message and chains the original.
        try:
            raise OSError("libxcb-icccm.so.4: cannot open shared object file: No such file")
        except OSError as original:
            raise OSError(f"Failed to load dynlib/dll {path!r}.") from original

    sentence = xcb_problem({"DISPLAY": ":0"}, "linux", load=frozen_load, qt_library_dir=tmp_path)

    assert sentence is not None
    assert "libxcb-icccm.so.4" in sentence
    assert "sudo apt install libxcb-icccm4" in sentence
