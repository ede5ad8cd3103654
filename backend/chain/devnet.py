"""The local devnet: the npm-installed anvil binary run as a subprocess.

:func:`start_anvil` starts anvil (prague hardfork, chain id 31337, 127.0.0.1 only) and
returns once it answers ``eth_chainId``; :meth:`Devnet.stop` stops exactly that process by
its pid. The CLI (``walrus devnet up|down|status``) records the running devnet in a small
JSON state file so that a later command can find and stop it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Final

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from backend.chain.compiler import REPO_ROOT
from backend.chain.errors import ChainUnreachable, DevnetError, ToolchainMissing

ANVIL_BINARY: Final = REPO_ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
DEFAULT_STATE_FILE: Final = REPO_ROOT / ".devnet/state.json"
DEFAULT_PORT: Final = 8545
DEV_CHAIN_ID: Final = 31337
HARDFORK: Final = "prague"
HOST: Final = "127.0.0.1"
DEV_MNEMONIC: Final = "test test test test test test test test test test test junk"
"""anvil's default mnemonic: the dev accounts' keys are public knowledge, devnet only."""
DEV_ACCOUNT_COUNT: Final = 10
DEV_BALANCE_ETH: Final = 10_000


@dataclass(frozen=True)
class DevnetInfo:
    """What the state file records about a running devnet."""

    pid: int
    port: int
    url: str
    chain_id: int
    log_path: str
    state_path: str | None = None


class Devnet:
    """A running anvil that this process started; stop it with :meth:`stop` (or ``with``)."""

    def __init__(self, info: DevnetInfo, process: subprocess.Popen[bytes] | None) -> None:
        self.info = info
        self._process = process

    @property
    def url(self) -> str:
        return self.info.url

    @property
    def pid(self) -> int:
        return self.info.pid

    def is_running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return pid_alive(self.info.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this anvil by its pid (SIGTERM, then SIGKILL after ``timeout``)."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
        else:
            stop_pid(self.info.pid, timeout)

    def __enter__(self) -> Devnet:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something listens on `port`. SO_REUSEADDR as anvil itself binds: connections
    of a just-stopped anvil in TIME_WAIT do not count (restarting on the same port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
        return False


def start_anvil(
    port: int | None = None,
    *,
    chain_id: int = DEV_CHAIN_ID,
    state_path: Path | None = None,
    block_time: float | None = None,
    log_path: Path | None = None,
    binary: Path = ANVIL_BINARY,
    accounts: int = DEV_ACCOUNT_COUNT,
    timeout: float = 20.0,
) -> Devnet:
    """Start anvil on 127.0.0.1:``port`` (a free one if None) and wait until it answers.

    ``state_path`` makes the chain persistent (loaded at start, dumped at exit);
    ``block_time`` switches from instant to interval mining. Raises DevnetError when the
    port is taken or anvil dies, ToolchainMissing when the binary is not installed.
    """
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise ToolchainMissing(f"anvil is not installed at {binary}; run scripts/bootstrap")
    if port is None:
        port = free_port()
    elif port_in_use(port):
        raise DevnetError(f"port {port} on {HOST} is already in use; choose another with --port")
    command = [
        str(binary),
        "--host",
        HOST,
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--hardfork",
        HARDFORK,
        "--accounts",
        str(accounts),
        "--balance",
        str(DEV_BALANCE_ETH),
        "--mnemonic",
        DEV_MNEMONIC,
    ]
    if block_time is not None:
        command += ["--block-time", str(block_time)]
    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        command += ["--state", str(state_path)]
    if log_path is None:
        log_path = REPO_ROOT / ".devnet" / f"anvil-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://{HOST}:{port}"
    with open(log_path, "wb") as log:
        process = _spawn(command, log)
    info = DevnetInfo(
        pid=process.pid,
        port=port,
        url=url,
        chain_id=chain_id,
        log_path=str(log_path),
        state_path=str(state_path) if state_path else None,
    )
    devnet = Devnet(info, process)
    try:
        _wait_until_ready(devnet, process, log_path, timeout)
    except BaseException:
        devnet.stop()
        raise
    return devnet


def _spawn(command: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    # A new session: Ctrl-C in the terminal reaches only the parent, which stops anvil itself.
    return subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_until_ready(
    devnet: Devnet, process: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise DevnetError(
                f"anvil exited at start (code {process.returncode}): {_last_line(log_path)}"
            )
        if rpc_chain_id(devnet.url, request_timeout=1.0) is not None:
            return
        if time.monotonic() > deadline:
            raise DevnetError(
                f"anvil did not answer at {devnet.url} within {timeout:.0f} s (log: {log_path})"
            )
        time.sleep(0.05)


def _last_line(log_path: Path) -> str:
    try:
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines()]
    except OSError:
        return "no log"
    useful = [line for line in lines if line]
    return useful[-1] if useful else "no output"


def rpc_chain_id(url: str, request_timeout: float = 2.0) -> int | None:
    """The chain id answered at ``url``, or None if nothing answers JSON-RPC there."""
    try:
        response = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            timeout=request_timeout,
        )
        return int(response.json()["result"], 16)
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def require_chain(url: str) -> int:
    """The chain id at ``url``; ChainUnreachable with one clear line otherwise."""
    chain_id = rpc_chain_id(url)
    if chain_id is None:
        raise ChainUnreachable(f"no EVM JSON-RPC endpoint answers at {url}")
    return chain_id


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM ``pid``, SIGKILL after ``timeout``; False if it was not running."""
    if not pid_alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap if it is our own child
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


# --- state file -------------------------------------------------------------------------


def write_state(info: DevnetInfo, state_file: Path = DEFAULT_STATE_FILE) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(asdict(info), indent=2) + "\n")


def read_state(state_file: Path = DEFAULT_STATE_FILE) -> DevnetInfo | None:
    """The recorded devnet, or None if no state file exists."""
    try:
        raw = json.loads(state_file.read_text())
        return DevnetInfo(**raw)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as error:
        raise DevnetError(
            f"devnet state file {state_file} is damaged ({error}); delete it"
        ) from None


def clear_state(state_file: Path = DEFAULT_STATE_FILE) -> None:
    state_file.unlink(missing_ok=True)


def attached(info: DevnetInfo) -> Devnet:
    """A handle on a devnet started by another process (found through the state file)."""
    return Devnet(info, None)


# --- dev accounts -----------------------------------------------------------------------


def dev_accounts(count: int = DEV_ACCOUNT_COUNT) -> list[LocalAccount]:
    """The devnet's prefunded accounts (anvil's default mnemonic, m/44'/60'/0'/0/i)."""
    Account.enable_unaudited_hdwallet_features()
    return [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        for index in range(count)
    ]
