"""The per-platform build recipes exist and agree with the bundle layout."""

from __future__ import annotations

import plistlib
import re

import pytest

from tests.packaging.conftest import PACKAGING, load_packaging_module

build = load_packaging_module("build")
bundle_layout = load_packaging_module("bundle_layout")


@pytest.mark.parametrize(
    ("platform", "script"),
    [
        ("linux", "linux/build_linux.py"),
        ("win32", "windows/build_windows.py"),
        ("darwin", "macos/build_macos.py"),
    ],
)
def test_each_platform_has_its_own_build_script(platform: str, script: str) -> None:
    assert build.script_for(platform) == PACKAGING / script
    assert (PACKAGING / script).is_file()


def test_a_platform_without_a_recipe_is_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="no installer recipe for sunos5"):
        build.script_for("sunos5")


def test_windows_installer_installs_both_executables_and_a_start_menu_entry() -> None:
    script = (PACKAGING / "windows" / "callexa-desktop.iss").read_text(encoding="utf-8")

    assert f"{bundle_layout.EXE_NAME}.exe" in script
    assert f"{bundle_layout.CLI_EXE_NAME}.exe" in script
    assert re.search(r"^Name: \"\{group\}\\", script, re.MULTILINE)
    assert "{uninstallexe}" in script
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}", script, re.MULTILINE)


def test_macos_entitlements_are_a_valid_property_list_with_hardened_runtime_exceptions() -> None:
    entitlements = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())

    assert entitlements["com.apple.security.cs.allow-unsigned-executable-memory"] is True
    assert "com.apple.security.get-task-allow" not in entitlements
