"""The PyInstaller spec, checked without building: run it with stand-ins for
PyInstaller's classes and look at what it would put in the bundle."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from callexa_desktop.core.database import MIGRATIONS_DIR
from callexa_desktop.resources import RESOURCES_FOLDER
from tests.packaging.conftest import PACKAGING, ROOT, load_packaging_module

bundle_layout = load_packaging_module("bundle_layout")
SPEC = PACKAGING / "callexa-desktop.spec"


@dataclass
class Call:
    kind: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    binaries: list[Any] = field(default_factory=list)
    datas: list[Any] = field(default_factory=list)
    pure: list[Any] = field(default_factory=list)
    scripts: list[Any] = field(default_factory=list)


def run_spec(monkeypatch: pytest.MonkeyPatch, platform: str) -> list[Call]:
    """Execute the spec as PyInstaller would on ``platform``; returns the steps it asked for."""
    calls: list[Call] = []

    def recorder(kind: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Call:
            call = Call(kind, args, kwargs)
            calls.append(call)
            return call

        return record

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "platform", platform)
    namespace = {
        "__name__": "__main__",
        "SPECPATH": str(PACKAGING),
        **{kind: recorder(kind) for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
    }
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    return calls


def steps(calls: list[Call], kind: str) -> list[Call]:
    return [call for call in calls if call.kind == kind]


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_spec_analyses_the_entry_script_with_data_files_that_exist(
    monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    (analysis,) = steps(run_spec(monkeypatch, platform), "Analysis")

    (entry,) = analysis.args[0]
    assert Path(entry) == PACKAGING / "entry.py"
    assert Path(entry).is_file()
    missing = [source for source, _folder in analysis.kwargs["datas"] if not Path(source).exists()]
    assert missing == []


def test_linux_bundle_is_one_executable_that_is_window_and_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = run_spec(monkeypatch, "linux")

    assert [(e.kwargs["name"], e.kwargs["console"]) for e in steps(calls, "EXE")] == [
        ("callexa-desktop", True)
    ]
    (collect,) = steps(calls, "COLLECT")
    assert collect.kwargs["name"] == "callexa-desktop"
    assert steps(calls, "BUNDLE") == []


def test_windows_bundle_has_a_windowed_app_and_a_console_cli_sharing_one_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = run_spec(monkeypatch, "win32")

    executables = steps(calls, "EXE")
    assert [(e.kwargs["name"], e.kwargs["console"]) for e in executables] == [
        ("callexa-desktop", False),
        ("callexa-desktop-cli", True),
    ]
    assert all(
        Path(e.kwargs["icon"]) == ROOT / "resources" / "callexa-desktop.ico" for e in executables
    )
    assert all(Path(e.kwargs["icon"]).is_file() for e in executables)
    (collect,) = steps(calls, "COLLECT")
    assert collect.args[: len(executables)] == tuple(executables)


def test_macos_app_bundle_carries_the_icon_and_the_info_plist_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (bundle,) = steps(run_spec(monkeypatch, "darwin"), "BUNDLE")

    assert bundle.kwargs["name"] == "Callexa Desktop.app"
    assert Path(bundle.kwargs["icon"]).is_file()
    assert bundle.kwargs["bundle_identifier"] == "com.callexa.desktop"
    plist = bundle.kwargs["info_plist"]
    assert plist["CFBundleShortVersionString"] == bundle_layout.app_version()
    assert plist["NSHighResolutionCapable"] is True
    assert {"CFBundleName", "CFBundleIdentifier", "LSMinimumSystemVersion"} <= set(plist)


def test_every_migration_script_ships_where_core_database_looks_for_it() -> None:
    datas = bundle_layout.data_files()
    shipped = {Path(source).relative_to(ROOT): folder for source, folder in datas}
    on_disk = [MIGRATIONS_DIR / "env.py", MIGRATIONS_DIR / "script.py.mako"]
    on_disk += sorted((MIGRATIONS_DIR / "versions").glob("*.py"))

    for script in on_disk:
        relative = script.relative_to(ROOT)
        # In the bundle, core/database.py's __file__ sits under _MEIPASS at the same relative path.
        assert shipped.get(relative) == relative.parent.as_posix(), relative


def test_resources_ship_under_the_folder_name_resource_path_looks_for() -> None:
    assert (str(ROOT / "resources"), RESOURCES_FOLDER) in bundle_layout.data_files()


def test_hidden_imports_hold_every_window_module_and_what_migrations_import() -> None:
    hidden = set(bundle_layout.hidden_imports())
    window_modules = {
        "callexa_desktop.app." + path.stem
        for path in (ROOT / "callexa_desktop" / "app").glob("*.py")
        if path.stem != "__init__" and not path.name.startswith(".")
    }

    assert window_modules <= hidden
    assert {"alembic.op", "alembic.context", "callexa_desktop.core.models"} <= hidden
    assert not any(name.startswith("callexa_desktop.core.migrations.") for name in hidden)


def _imports_in(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_program_never_imports_a_module_the_bundle_leaves_out() -> None:
    excluded = bundle_layout.EXCLUDED_QT_MODULES + bundle_layout.EXCLUDED_PYTHON_MODULES
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imports_in(path)
            if any(name == ex or name.startswith(ex + ".") for ex in excluded)
        )
        for path in (ROOT / "callexa_desktop").rglob("*.py")
    }

    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize(
    "bundle_path",
    [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6\\plugins\\platforms\\qwindows.dll",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
        "PySide6/Qt/lib/libQt6Widgets.so.6",
    ],
)
def test_pruning_keeps_what_the_window_needs(bundle_path: str) -> None:
    assert bundle_layout.keep_in_bundle(bundle_path)


@pytest.mark.parametrize(
    "bundle_path",
    [
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6\\plugins\\imageformats\\qjpeg.dll",
    ],
)
def test_pruning_drops_what_the_window_never_loads(bundle_path: str) -> None:
    assert not bundle_layout.keep_in_bundle(bundle_path)


def test_libraries_only_a_pruned_plugin_needed_leave_with_it_and_shared_ones_stay() -> None:
    gtk = "PySide6/Qt/plugins/platformthemes/libqgtk3.so"
    xcb = "PySide6/Qt/plugins/platforms/libqxcb.so"
    binaries = [(name, f"/src/{name}", "BINARY") for name in (gtk, xcb, "libgtk-3.so.0")]
    binaries += [("libcairo.so.2", "/src/libcairo.so.2", "BINARY")]
    binaries += [("libX11.so.6", "/src/libX11.so.6", "BINARY")]
    links = {
        f"/src/{gtk}": ["libgtk-3.so.0", "libc.so.6"],
        "/src/libgtk-3.so.0": ["libcairo.so.2"],
        "/src/libcairo.so.2": ["libX11.so.6"],
        f"/src/{xcb}": ["libX11.so.6"],
    }
    datas = [
        ("libcairo.so.2.link", "libcairo.so.2", "SYMLINK"),
        ("libX11.so.6.link", "libX11.so.6", "SYMLINK"),
        ("resources/callexa-desktop.svg", "/src/callexa-desktop.svg", "DATA"),
    ]

    kept, kept_datas = bundle_layout.prune_bundle(binaries, datas, lambda p: links.get(p, []))

    assert [entry[0] for entry in kept] == [xcb, "libX11.so.6"]
    assert [entry[0] for entry in kept_datas] == [
        "libX11.so.6.link",
        "resources/callexa-desktop.svg",
    ]


def test_a_library_a_kept_extension_links_directly_is_never_pruned() -> None:
    gtk = "PySide6/Qt/plugins/platformthemes/libqgtk3.so"
    binaries = [
        (gtk, "/src/gtk", "BINARY"),
        ("lib-dynload/_ssl.so", "/src/_ssl", "EXTENSION"),
        ("libssl.so.3", "/src/libssl", "BINARY"),
    ]
    links = {"/src/gtk": ["libssl.so.3"], "/src/_ssl": ["libssl.so.3"]}

    kept, _ = bundle_layout.prune_bundle(binaries, [], lambda p: links.get(p, []))

    assert [entry[0] for entry in kept] == ["lib-dynload/_ssl.so", "libssl.so.3"]
