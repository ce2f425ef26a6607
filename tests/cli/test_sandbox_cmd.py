"""``callexa-desktop sandbox``: prints where it listens, serves, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from callexa_desktop.cli.main import main

CONSOLE_SCRIPT = Path(sys.executable).with_name("callexa-desktop")


def test_the_sandbox_command_prints_its_addresses_serves_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the sandbox is listening
        base_line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in first
        base_url = base_line.split()[-1]
        assert base_line.split()[0] == "callexa_base_url"

        reply = httpx.get(base_url + "/account", headers={"Authorization": "Bearer any"})
        assert reply.status_code == 200

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Sandbox stopped." in out
    assert "Traceback" not in err
    assert not Path(os.environ["CALLEXA_DESKTOP_HOME"]).exists()  # needs no profile


def test_a_port_in_use_is_refused_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 1

    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err
    assert "--port" in err
