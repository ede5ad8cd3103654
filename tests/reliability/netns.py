"""Separate "hosts" on one machine: Linux network namespaces joined by a bridge.

:class:`NetnsLab` creates, under a random prefix ``wlr-<hex>``, one namespace per host plus
one holding a bridge; each host gets a veth pair (``eth0`` inside the host, ``v-<host>`` on
the bridge) and an address in a private /24 that exists only inside these namespaces (no
default route, nothing in the root namespace). ``run(host, command)`` starts a process in a
host (``ip netns exec``); ``enter(host)`` moves the calling *thread* into a host's namespace
(setns(2) is per thread: sockets it and the threads it starts open afterwards live there),
so the test itself can act as a client host. ``partition`` / ``heal`` set a host's bridge-side
veth down / up. ``cleanup()`` deletes exactly the namespaces this lab created (deleting a
namespace destroys its veth ends, and so the peers).
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


class NetnsUnavailable(Exception):
    """This machine cannot create network namespaces (not root, no `ip`, or refused)."""


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None: tried for real (add, lo up, delete)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    probe = f"wlr-probe-{secrets.token_hex(3)}"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if added.returncode != 0:
        return f"`ip netns add` failed: {added.stderr.strip()}"
    try:
        up = subprocess.run(
            ["ip", "-n", probe, "link", "set", "lo", "up"], capture_output=True, text=True
        )
        if up.returncode != 0:
            return f"`ip -n NS link set lo up` failed: {up.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*arguments: str) -> None:
    done = subprocess.run(["ip", *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise NetnsUnavailable(f"ip {' '.join(arguments)}: {done.stderr.strip()}")


class NetnsLab:
    def __init__(self, hosts: Sequence[str]) -> None:
        token = secrets.token_hex(3)
        self.prefix = f"wlr-{token}"
        # a /24 in 10/8 chosen at random: it only exists inside this lab's namespaces
        self.subnet = f"10.{int(token[:2], 16) % 200 + 20}.{int(token[2:4], 16)}"
        self.hosts = list(hosts)
        self.addresses = {host: f"{self.subnet}.{10 + i}" for i, host in enumerate(self.hosts)}
        self.created: list[str] = []
        self._libc = ctypes.CDLL(None, use_errno=True)

    def namespace(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    @property
    def bridge_namespace(self) -> str:
        return f"{self.prefix}-br"

    def bridge_port(self, host: str) -> str:
        return f"v-{host}"[:15]

    def create(self) -> None:
        for name in [self.bridge_namespace] + [self.namespace(h) for h in self.hosts]:
            _ip("netns", "add", name)
            self.created.append(name)
            _ip("-n", name, "link", "set", "lo", "up")
        bridge = self.bridge_namespace
        _ip("-n", bridge, "link", "add", "br0", "type", "bridge")
        _ip("-n", bridge, "link", "set", "br0", "up")
        for host in self.hosts:
            inside, port = self.namespace(host), self.bridge_port(host)
            _ip("-n", bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0")
            _ip("-n", bridge, "link", "set", "eth0", "netns", inside)
            _ip("-n", bridge, "link", "set", port, "master", "br0")
            _ip("-n", bridge, "link", "set", port, "up")
            _ip("-n", inside, "addr", "add", f"{self.addresses[host]}/24", "dev", "eth0")
            _ip("-n", inside, "link", "set", "eth0", "up")

    def partition(self, host: str) -> None:
        """Cut `host` off the bridge (its packets go nowhere, as a pulled cable)."""
        _ip("-n", self.bridge_namespace, "link", "set", self.bridge_port(host), "down")

    def heal(self, host: str) -> None:
        _ip("-n", self.bridge_namespace, "link", "set", self.bridge_port(host), "up")

    def links(self, host: str) -> str:
        return subprocess.run(
            ["ip", "-n", self.namespace(host), "-br", "addr"], capture_output=True, text=True
        ).stdout

    def routes(self, host: str) -> str:
        return subprocess.run(
            ["ip", "-n", self.namespace(host), "route"], capture_output=True, text=True
        ).stdout

    def run(
        self, host: str, command: Sequence[str], log: IO[bytes], cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """`command` in `host` (``ip netns exec`` execs it: the pid is the command's own)."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.namespace(host), *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )

    @contextmanager
    def enter(self, host: str) -> Iterator[None]:
        """The calling thread (and threads it starts) in `host`'s network namespace."""
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(NETNS_DIR / self.namespace(host), os.O_RDONLY)
        try:
            self._setns(target)
            try:
                yield
            finally:
                self._setns(original)
        finally:
            os.close(target)
            os.close(original)

    def _setns(self, fd: int) -> None:
        if self._libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise NetnsUnavailable(f"setns: {os.strerror(error)}")

    def cleanup(self) -> list[str]:
        """Delete every namespace this lab created; returns the ones that would not go."""
        left = []
        for name in reversed(self.created):
            done = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True)
            if done.returncode != 0 and (NETNS_DIR / name).exists():
                left.append(f"{name}: {done.stderr.strip()}")
        self.created.clear()
        return left
