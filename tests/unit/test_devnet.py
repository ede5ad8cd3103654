"""The devnet: anvil started and stopped by pid, its state file, and `walrus devnet` errors."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from backend.chain.client import ChainClient
from backend.chain.devnet import (
    DevnetInfo,
    free_port,
    pid_alive,
    read_state,
    rpc_chain_id,
    start_anvil,
    write_state,
)
from backend.chain.errors import ChainUnreachable, DevnetError, ToolchainMissing
from backend.cli.main import cli


def test_anvil_starts_answers_and_stops_by_pid(tmp_path: Path) -> None:
    devnet = start_anvil(log_path=tmp_path / "anvil.log")
    try:
        assert rpc_chain_id(devnet.url) == 31337
        assert devnet.url == f"http://127.0.0.1:{devnet.info.port}"
        assert pid_alive(devnet.pid)
    finally:
        devnet.stop()
    assert not devnet.is_running()
    assert rpc_chain_id(devnet.url, request_timeout=0.5) is None


def test_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        with pytest.raises(DevnetError, match=f"port {port} on 127.0.0.1 is already in use"):
            start_anvil(port, log_path=tmp_path / "anvil.log")


def test_missing_binary_is_a_toolchain_error(tmp_path: Path) -> None:
    with pytest.raises(ToolchainMissing, match="run scripts/bootstrap"):
        start_anvil(binary=tmp_path / "anvil", log_path=tmp_path / "anvil.log")


def test_anvil_dying_at_start_reports_its_own_last_words(tmp_path: Path) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\necho 'error: invalid value for --hardfork' >&2\nexit 2\n")
    fake.chmod(0o755)
    with pytest.raises(DevnetError, match=r"code 2\): error: invalid value for --hardfork"):
        start_anvil(binary=fake, log_path=tmp_path / "anvil.log")


def test_state_file_round_trip_and_damage(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert read_state(state) is None
    info = DevnetInfo(pid=123, port=9, url="http://127.0.0.1:9", chain_id=31337, log_path="x")
    write_state(info, state)
    assert read_state(state) == info
    state.write_text("{not json")
    with pytest.raises(DevnetError, match="damaged"):
        read_state(state)


def test_wrong_rpc_url_is_chain_unreachable_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnreachable) as raised:
        ChainClient.connect(url)
    assert str(raised.value) == f"no EVM JSON-RPC endpoint answers at {url} (ConnectionError)"


# --- walrus devnet ------------------------------------------------------------------------


@pytest.fixture
def state_file(tmp_path: Path) -> Iterator[Path]:
    """A private state file; whatever `up` started in the test is stopped afterwards."""
    path = tmp_path / "state.json"
    yield path
    info = read_state(path) if path.exists() else None
    if info is not None and pid_alive(info.pid):
        os.kill(info.pid, 15)


def test_cli_up_status_deploy_down(state_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    port = free_port()
    started = runner.invoke(
        cli, ["devnet", "up", "--port", str(port), "--state-file", str(state_file)]
    )
    assert started.exit_code == 0, started.output
    assert f"devnet up at http://127.0.0.1:{port}" in started.output
    info = read_state(state_file)
    assert info is not None and pid_alive(info.pid)

    again = runner.invoke(
        cli, ["devnet", "up", "--port", str(port), "--state-file", str(state_file)]
    )
    assert again.exit_code == 1
    assert again.output.strip() == (
        f"Error: a devnet is already running at {info.url} (pid {info.pid}); "
        "`walrus devnet down` stops it"
    )

    out_dir = tmp_path / "deployments"
    deployed = runner.invoke(
        cli, ["devnet", "deploy", "--state-file", str(state_file), "--out-dir", str(out_dir)]
    )
    assert deployed.exit_code == 0, deployed.output
    record = json.loads((out_dir / "31337.json").read_text())
    assert set(record) == {"chain_id", "deploy_block", "abi_hash", "contracts"}
    assert "WAL" in record["contracts"]
    wal_code = ChainClient(info.url).w3.eth.get_code(record["contracts"]["WAL"])
    assert len(wal_code) > 1000

    status = runner.invoke(cli, ["devnet", "status", "--state-file", str(state_file), "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["chain_id"] == 31337

    stopped = runner.invoke(cli, ["devnet", "down", "--state-file", str(state_file)])
    assert stopped.exit_code == 0, stopped.output
    assert not pid_alive(info.pid)
    assert not state_file.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["devnet", "status"], "Error: no devnet is running"),
        (["devnet", "down"], "Error: no devnet is recorded in"),
        (["devnet", "deploy"], "Error: no --rpc-url given and no devnet is running"),
        (["devnet", "deploy", "--rpc-url", "http://127.0.0.1:9"], "Error: no EVM JSON-RPC"),
    ],
)
def test_cli_errors_are_one_line_with_nonzero_exit(
    state_file: Path, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, [*arguments, "--state-file", str(state_file)])
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_cli_taken_port_is_one_line(state_file: Path) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["devnet", "up", "--port", str(port), "--state-file", str(state_file)]
        )
    assert result.exit_code == 1
    assert result.output == (
        f"Error: port {port} on 127.0.0.1 is already in use; choose another with --port\n"
    )
