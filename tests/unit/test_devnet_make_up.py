"""`make up` (python -m scripts.up) as a user runs it: up, deployed, Ctrl-C stops anvil."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.chain.client import ChainClient
from backend.chain.compiler import REPO_ROOT
from backend.chain.devnet import free_port, pid_alive, read_state, start_anvil, write_state

READY_TIMEOUT = 120.0


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_make_up_deploys_prints_and_stops_anvil_on_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    state_file, deployments = tmp_path / "state.json", tmp_path / "deployments"
    port = free_port()
    command = [sys.executable, "-m", "scripts.up", "--port", str(port)]
    command += ["--state-file", str(state_file), "--deployments-dir", str(deployments)]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    anvil_pid = None
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "make up exited early:\n" + "".join(lines)
            lines.append(line)
            if "ready; Ctrl-C stops everything" in line:
                break
        output = "".join(lines)
        info = read_state(state_file)
        assert info is not None
        anvil_pid = info.pid
        assert f"http://127.0.0.1:{port}   (chain id 31337)" in output
        record = json.loads((deployments / "31337.json").read_text())
        for name, address in record["contracts"].items():
            assert f"  {name:<16} {address}" in output
        assert (state_file.parent / f"anvil-{port}.log").is_file()
        assert "1,000,000 WAL" in output  # dev accounts were paid from the user drop
        assert ChainClient(info.url).block_number() >= 1

        process.send_signal(stop_signal)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, rest
        assert f"stopped anvil (pid {anvil_pid})" in rest
        assert not pid_alive(anvil_pid)
        assert not state_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if anvil_pid is not None and pid_alive(anvil_pid):
            os.kill(anvil_pid, signal.SIGTERM)


def test_make_up_refuses_a_second_devnet_on_the_same_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with start_anvil(log_path=tmp_path / "anvil.log") as running:
        write_state(running.info, state_file)
        finished = subprocess.run(
            [sys.executable, "-m", "scripts.up", "--state-file", str(state_file)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode == 1
    assert f"a devnet is already running at {running.url}" in finished.stdout
    assert "Traceback" not in finished.stdout + finished.stderr
