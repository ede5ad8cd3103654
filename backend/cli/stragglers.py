"""After `walrus store` printed its result: uploads to nodes slower than the quorum get a
grace period, then the command exits without them. The blob is certified, and a node that
misses its slivers recovers them from its peers; without this a stalled node kept the
command open for its whole timeout and retries (about 30 s) after the blob id was printed.

The upload threads are not daemons, so a normal interpreter exit joins them: the console
script (`backend.cli.main.main`) ends the process with `os._exit` instead when uploads were
left behind. In-process callers (click's CliRunner, tests) keep the normal exit."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from backend.sdk.client import Client

MIN_GRACE_SECONDS = 2.0
"""Slow nodes get at least this long after the store (and at least as long as it took)."""

_left_behind = threading.Event()


@contextmanager
def grace_for_stragglers(client: Client) -> Iterator[None]:
    """Around a store and the printing of its result: afterwards, `wait_for_stragglers` as
    long as the store took, at least MIN_GRACE_SECONDS (not after an error)."""
    started = time.monotonic()
    yield
    wait_for_stragglers(client, grace=max(MIN_GRACE_SECONDS, time.monotonic() - started))


def wait_for_stragglers(client: Client, grace: float) -> None:
    """Wait up to `grace` s for the client's uploads still running; note any left behind."""
    still_running = client.wait_for_background_uploads(grace)
    if still_running == 0:
        return
    _left_behind.set()
    click.echo(
        f"{still_running} slow node(s) still receiving slivers after {grace:.1f} s; not "
        "waiting for them (they recover their slivers from their peers)",
        err=True,
    )


def exit_leaving_stragglers(exit_code: int) -> None:
    """End the process now (exit status `exit_code`) if uploads were left behind."""
    if not _left_behind.is_set():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
