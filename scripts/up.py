"""`make up`: start the local network, print where everything is, stop it all on Ctrl-C.

A small process supervisor: every service started is registered as a :class:`Child`
(name, liveness check, stop action); on Ctrl-C, SIGTERM, or when any child dies, all
children are stopped in reverse start order, each by its own pid. Today the network is
anvil plus the deployed contracts; storage nodes and the backend join as more children.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from backend.chain.client import ChainClient
from backend.chain.compiler import compile_contracts
from backend.chain.deployment import (
    DEPLOYMENTS_DIR,
    FROST_PER_WAL,
    deploy,
    deployment_path,
    devnet_config,
    save_deployment,
)
from backend.chain.devnet import (
    DEFAULT_PORT,
    DEFAULT_STATE_FILE,
    clear_state,
    dev_accounts,
    free_port,
    pid_alive,
    port_in_use,
    read_state,
    rpc_chain_id,
    start_anvil,
    write_state,
)
from backend.chain.errors import ChainError


@dataclass
class Child:
    name: str
    pid: int
    alive: Callable[[], bool]
    stop: Callable[[], None]


class Supervisor:
    """Children started in order, stopped in reverse order exactly once."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self._stopping = False

    def add(self, child: Child) -> None:
        self.children.append(child)

    def first_dead(self) -> Child | None:
        return next((child for child in self.children if not child.alive()), None)

    def stop_all(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for child in reversed(self.children):
            try:
                child.stop()
                say(f"stopped {child.name} (pid {child.pid})")
            except Exception as error:  # keep stopping the others
                say(f"could not stop {child.name} (pid {child.pid}): {error}")


class Shutdown(Exception):
    """Raised from the signal handler to leave the wait loop."""


def say(message: str) -> None:
    print(f"up: {message}", flush=True)


def _raise_shutdown(signum: int, _frame: FrameType | None) -> None:
    raise Shutdown(signal.Signals(signum).name)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make up", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="anvil port (default 8545)")
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE)
    parser.add_argument("--deployments-dir", type=Path, default=DEPLOYMENTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _raise_shutdown)
    signal.signal(signal.SIGINT, _raise_shutdown)
    supervisor = Supervisor()
    try:
        recorded = read_state(args.state_file)
        if recorded and pid_alive(recorded.pid) and rpc_chain_id(recorded.url) is not None:
            say(
                f"a devnet is already running at {recorded.url} (pid {recorded.pid}); "
                "stop it with `walrus devnet down` first"
            )
            return 1
        port = args.port
        if port_in_use(port):
            port = free_port()
            say(f"port {args.port} is taken; using {port} instead")
        say("compiling contracts (cached in contracts/out)")
        artifacts = compile_contracts()
        say(f"starting anvil on 127.0.0.1:{port}")
        devnet = start_anvil(port, log_path=args.state_file.parent / f"anvil-{port}.log")
        supervisor.add(Child("anvil", devnet.pid, devnet.is_running, devnet.stop))
        write_state(devnet.info, args.state_file)
        accounts = dev_accounts()
        client = ChainClient.connect(devnet.url, accounts[0].key, error_abis=artifacts.all_abis())
        deployment = deploy(client, artifacts, devnet_config(accounts))
        save_deployment(deployment, args.deployments_dir)
        wal = deployment.contract(client, artifacts, "WAL")
        print_summary(
            devnet.url,
            deployment.contracts,
            deployment_path(deployment.chain_id, args.deployments_dir),
            [(a.address, a.key.hex(), wal.functions.balanceOf(a.address).call()) for a in accounts],
        )
        say("ready; Ctrl-C stops everything")
        while True:
            dead = supervisor.first_dead()
            if dead is not None:
                say(f"{dead.name} (pid {dead.pid}) exited unexpectedly; stopping the rest")
                return 1
            time.sleep(0.5)
    except Shutdown as signal_name:
        say(f"{signal_name} received, stopping")
        return 0
    except ChainError as error:
        say(f"error: {error}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
        if supervisor.children:
            clear_state(args.state_file)


def print_summary(
    url: str,
    contracts: Mapping[str, str],
    deployment_file: Path,
    accounts: list[tuple[str, str, int]],
) -> None:
    lines = [
        "",
        f"  {'RPC URL':<16} {url}   (chain id 31337)",
        f"  {'deployment':<16} {os.path.relpath(deployment_file)}",
    ]
    lines += [f"  {name:<16} {address}" for name, address in contracts.items()]
    lines += ["", "  funded dev accounts (10,000 ETH each; keys are public, devnet only):"]
    for address, key, wal_balance in accounts:
        lines.append(
            f"    {address}  0x{key.removeprefix('0x')}  {wal_balance / FROST_PER_WAL:,.0f} WAL"
        )
    lines += [
        "",
        "  next: `walrus devnet status` in another terminal; docs/devnet.md explains more.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
