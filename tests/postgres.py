"""A throwaway PostgreSQL cluster for tests: Debian's server binaries (scripts/bootstrap
installs them), `initdb` + `pg_ctl` run as the `postgres` user (they refuse root), data dir
and log owned by it in a fresh temporary directory, listening on 127.0.0.1 and a free port
only, trust authentication. Stopped with `pg_ctl stop` (then by its pid) at the end."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

POSTGRES_ROOT = Path("/usr/lib/postgresql")
SERVICE_USER = "postgres"


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def server_binaries() -> Path:
    """bin/ of the newest installed server; raises PostgresMissing with what to do."""
    versions = sorted(
        (path for path in POSTGRES_ROOT.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        raise PostgresMissing(
            f"PostgreSQL server binaries not found under {POSTGRES_ROOT}: run scripts/bootstrap "
            "(it installs Debian's postgresql) or apt-get install postgresql"
        )
    return versions[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    directory: Path
    bin_dir: Path
    port: int
    pid: int
    as_service_user: bool

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVICE_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            _run(
                self.bin_dir,
                self.as_service_user,
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
            )
        except subprocess.CalledProcessError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        shutil.rmtree(self.directory, ignore_errors=True)


def _run(bin_dir: Path, as_service_user: bool, tool: str, *args: str) -> None:
    command = [str(bin_dir / tool), *args]
    if as_service_user:
        command = ["runuser", "-u", SERVICE_USER, "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def start_postgres() -> PostgresCluster:
    """initdb + pg_ctl start on a free 127.0.0.1 port (about 1.5 s)."""
    bin_dir = server_binaries()
    as_service_user = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="walrus-pg-"))
    if as_service_user:
        user = pwd.getpwnam(SERVICE_USER)
        os.chown(directory, user.pw_uid, user.pw_gid)
    data_dir = directory / "data"
    _run(
        bin_dir,
        as_service_user,
        "initdb",
        "-D",
        str(data_dir),
        "-U",
        SERVICE_USER,
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
    )
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off"
    log_path = directory / "postgres.log"
    try:
        _run(
            bin_dir,
            as_service_user,
            "pg_ctl",
            "-D",
            str(data_dir),
            "-l",
            str(log_path),
            "-o",
            options,
            "-w",
            "start",
        )
    except subprocess.CalledProcessError as error:
        log = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {error.stderr!r}\n{log}") from None
    pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    return PostgresCluster(directory, bin_dir, port, pid, as_service_user)
