"""What goes into the PyInstaller bundle, decided without PyInstaller.

``callexa-desktop.spec`` reads everything from here, so the fast test in
``tests/packaging/`` can check the same lists (files exist, migrations are
all shipped, nothing excluded is imported by our code) without building.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
PACKAGE = ROOT / "callexa_desktop"
MIGRATIONS = PACKAGE / "core" / "migrations"
RESOURCES = ROOT / "resources"

APP_NAME = "Callexa Desktop"
EXE_NAME = "callexa-desktop"
# Windows only: a windowed exe has no console, so the command line gets its own exe.
CLI_EXE_NAME = "callexa-desktop-cli"
BUNDLE_IDENTIFIER = "com.callexa.desktop"
ENTRY_SCRIPT = PACKAGING / "entry.py"
MACOS_ENTITLEMENTS = PACKAGING / "macos" / "entitlements.plist"

# Qt modules PySide6-Essentials ships that the app does not use (tests check we never
# import them); leaving them out keeps their Qt libraries out of the bundle too.
EXCLUDED_QT_MODULES = (
    "PySide6.QtConcurrent",
    "PySide6.QtDBus",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtLabsStyleKit",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtQml",
    "PySide6.QtQmlFeatures",
    "PySide6.QtQuick",
    "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest",
    "PySide6.QtQuickWidgets",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtUiTools",
    "PySide6.QtXml",
)

# Development and benchmark tools that are installed in .venv but never run in the app;
# keyrings.alt would only add plaintext keyrings, which the keychain refuses anyway.
EXCLUDED_PYTHON_MODULES = (
    "_pytest",
    "pytest",
    "pytestqt",
    "hypothesis",
    "mypy",
    "ruff",
    "psutil",
    "segment",
    "keyrings",
    "tkinter",
    "IPython",
    "PyInstaller",
    "setuptools",
    "pip",
)

# Files PyInstaller's Qt hooks collect that the app never loads (bundle paths, fnmatch
# patterns; ``*`` also crosses folders). Libraries that only these needed go with them
# (see prune_bundle), so no library is named here: a wrong guess would break the bundle.
PRUNED_FILES = (
    # The interface is English only.
    "PySide6/*translations/*",
    # Embedded-device display and input backends (framebuffer, EGLFS, VNC, evdev).
    "PySide6/*plugins/platforms/*eglfs*",
    "PySide6/*plugins/platforms/*linuxfb*",
    "PySide6/*plugins/platforms/*minimalegl*",
    "PySide6/*plugins/platforms/*vnc*",
    "PySide6/*plugins/platforms/*vkkhrdisplay*",
    "PySide6/*plugins/egldeviceintegrations/*",
    "PySide6/*plugins/generic/*",
    # GTK theme plugin: it drags GTK's whole stack (cairo, pango, gdk-pixbuf) in from the
    # build machine, which then clashes with the desktop's own; Qt's style is used instead.
    "PySide6/*plugins/platformthemes/*gtk3*",
    # Only our PNG/SVG/ICO icons are read; no photos or PDFs.
    "PySide6/*plugins/imageformats/*gif*",
    "PySide6/*plugins/imageformats/*jpeg*",
    "PySide6/*plugins/imageformats/*pdf*",
    "PySide6/*plugins/imageformats/*tga*",
    "PySide6/*plugins/imageformats/*tiff*",
    "PySide6/*plugins/imageformats/*wbmp*",
    "PySide6/*plugins/imageformats/*webp*",
    # QtNetwork is used for the single-instance local socket only; HTTP goes through httpx.
    "PySide6/*plugins/networkinformation/*",
    "PySide6/*plugins/tls/*",
    "PySide6/*plugins/qmltooling/*",
    "PySide6/*plugins/sqldrivers/*",
    "PySide6/*plugins/designer/*",
    "PySide6/*plugins/vectorimageformats/*",
    "PySide6/opengl32sw.dll",
)

TocEntry = tuple[str, str, str]  # (path in the bundle, source path, PyInstaller type code)


@dataclass(frozen=True)
class BundleLayout:
    """Everything the spec needs for one target platform."""

    platform: str  # sys.platform of the target: "linux", "win32", "darwin"
    version: str
    entry_script: Path
    datas: list[tuple[str, str]]
    hiddenimports: list[str]
    excludes: list[str]
    icon: Path | None
    executables: list[tuple[str, bool]]  # (name, console)
    strip: bool
    info_plist: dict[str, object] = field(default_factory=dict)


def layout_for(platform: str) -> BundleLayout:
    """The bundle for ``platform`` (``sys.platform`` of the machine that builds it)."""
    version = app_version()
    if platform == "win32":
        executables = [(EXE_NAME, False), (CLI_EXE_NAME, True)]
        icon: Path | None = RESOURCES / "callexa-desktop.ico"
    elif platform == "darwin":
        executables = [(EXE_NAME, False)]
        icon = RESOURCES / "callexa-desktop.icns"
    else:
        # Linux executables have no console/windowed distinction: one binary is both.
        executables = [(EXE_NAME, True)]
        icon = None
    return BundleLayout(
        platform=platform,
        version=version,
        entry_script=ENTRY_SCRIPT,
        datas=data_files(),
        hiddenimports=hidden_imports(),
        excludes=[*EXCLUDED_QT_MODULES, *EXCLUDED_PYTHON_MODULES],
        icon=icon,
        executables=executables,
        # Linux libraries often keep debug symbols (libpython: 23 MB -> 5 MB); stripping
        # Windows DLLs is unsupported and would break macOS code signatures.
        strip=platform == "linux",
        info_plist=info_plist(version) if platform == "darwin" else {},
    )


def app_version() -> str:
    """``__version__`` from ``callexa_desktop/__init__.py``, read without importing it."""
    text = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise ValueError("callexa_desktop/__init__.py has no __version__")
    return match[1]


def migration_scripts() -> list[Path]:
    """The Alembic files loaded from disk by path at run time (env.py, template, versions)."""
    files = [MIGRATIONS / "env.py", MIGRATIONS / "script.py.mako"]
    files += sorted((MIGRATIONS / "versions").glob("*.py"))
    return files


def data_files() -> list[tuple[str, str]]:
    """(source, folder in the bundle) pairs: the resources and the migration scripts.

    Migrations keep their package-relative folder because ``core/database.py``
    finds them next to its own ``__file__``, which in a bundle lies under
    ``sys._MEIPASS/callexa_desktop/core/``.
    """
    pairs = [(str(RESOURCES), "resources")]
    for path in migration_scripts():
        folder = path.parent.relative_to(ROOT).as_posix()
        pairs.append((str(path), folder))
    return pairs


def hidden_imports() -> list[str]:
    """Modules PyInstaller cannot see by following imports from the entry script.

    Every module of our package (the window is imported lazily by the ``gui``
    command) and whatever the migration scripts import, since those are read
    from disk rather than analysed.
    """
    modules = set(package_modules())
    for script in migration_scripts():
        if script.suffix == ".py":
            modules.update(imports_of(script))
    return sorted(modules)


def package_modules() -> list[str]:
    """Dotted names of every module of ``callexa_desktop`` except the migration scripts."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        if path.parent == MIGRATIONS / "versions" or path == MIGRATIONS / "env.py":
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue  # editors' temporary files
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        names.append(".".join(parts))
    return names


def imports_of(path: Path) -> set[str]:
    """Absolute module names imported by the Python file at ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # ``from alembic import op`` imports the submodule alembic.op.
            names.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if _is_module(f"{node.module}.{alias.name}")
            )
    return {name for name in names if not name.startswith("__future__")}


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def keep_in_bundle(bundle_path: str) -> bool:
    """False for files matched by PRUNED_FILES (``bundle_path`` uses / or \\)."""
    normalised = bundle_path.replace("\\", "/")
    return not any(fnmatch.fnmatchcase(normalised, pattern) for pattern in PRUNED_FILES)


def prune_bundle(
    binaries: list[TocEntry],
    datas: list[TocEntry],
    imports_of: Callable[[str], Iterable[str]],
) -> tuple[list[TocEntry], list[TocEntry]]:
    """``binaries`` and ``datas`` without PRUNED_FILES, without the libraries that only
    pruned files linked against, and without symlinks left pointing at removed files.

    ``imports_of(source_path)`` lists the library names a binary links against (the
    spec passes PyInstaller's own dependency reader). A library that something kept
    still needs, directly or through another library, stays.
    """
    dropped = [entry for entry in binaries if not keep_in_bundle(entry[0])]
    kept = [entry for entry in binaries if keep_in_bundle(entry[0])]
    by_name: dict[str, list[TocEntry]] = {}
    for entry in kept:
        by_name.setdefault(_library_name(entry[0]), []).append(entry)

    def reachable(roots: list[TocEntry]) -> set[str]:
        seen: set[str] = set()
        pending = list(roots)
        while pending:
            entry = pending.pop()
            for name in imports_of(entry[1]):
                key = _library_name(name)
                if key in by_name and key not in seen:
                    seen.add(key)
                    pending.extend(by_name[key])
        return seen

    candidates = reachable(dropped)
    roots = [entry for entry in kept if _library_name(entry[0]) not in candidates]
    orphans = candidates - reachable(roots)
    final_binaries = [entry for entry in kept if _library_name(entry[0]) not in orphans]
    removed = {entry[0] for entry in binaries} - {entry[0] for entry in final_binaries}
    final_datas = [
        entry
        for entry in datas
        if keep_in_bundle(entry[0])
        and not (entry[2] == "SYMLINK" and _symlink_target(entry) in removed)
    ]
    return final_binaries, final_datas


def _library_name(path: str) -> str:
    # Windows resolves DLL names case-insensitively; sonames never differ only by case.
    return posixpath.basename(path.replace("\\", "/")).lower()


def _symlink_target(entry: TocEntry) -> str:
    name, target, _kind = entry
    folder = posixpath.dirname(name.replace("\\", "/"))
    return posixpath.normpath(posixpath.join(folder, target.replace("\\", "/")))


def info_plist(version: str) -> dict[str, object]:
    """Info.plist keys of the macOS app bundle."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": BUNDLE_IDENTIFIER,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "LSApplicationCategoryType": "public.app-category.business",
        "LSMinimumSystemVersion": "12.0",
        "NSHighResolutionCapable": True,
        "NSPrincipalClass": "NSApplication",
        "NSRequiresAquaSystemAppearance": False,
        "NSHumanReadableCopyright": "Callexa Desktop",
    }
