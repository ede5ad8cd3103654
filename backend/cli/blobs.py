"""`walrus store | read | blob-id | blob-status`: storing and reading blobs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from backend.cli.client_options import (
    Connection,
    connection_options,
    emit_json,
    parse_blob_id,
    with_user_errors,
)
from backend.cli.output_files import check_output_file, write_output_file, write_to_stdout
from backend.cli.seal_options import (
    SealOptions,
    decrypt_after_read,
    encrypt_for_store,
    seal_read_options,
    seal_store_options,
)
from backend.cli.stragglers import grace_for_stragglers
from backend.core.encoder import compute_blob_id_of
from backend.sdk.client import SLOWER_THAN_QUORUM, StoreResult, read_input
from backend.sdk.client import Progress as ProgressCallback

PHASE_LABELS = {"confirm": "shards confirmed", "read": "slivers verified"}


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr (only on a terminal and without --json)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASE_LABELS.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _input_file(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    if Path(path).is_dir():
        raise click.ClickException(
            f"{path} is a directory: store one file, or its files with walrus store-quilt"
        )
    if not Path(path).is_file():
        raise click.ClickException(f"file not found: {path}")
    return read_input(path)


@click.command("store")
@click.argument("file", type=str)
@click.option(
    "--epochs", type=int, default=1, show_default=True, help="Epochs to store the blob for."
)
@click.option("--deletable", is_flag=True, help="Let the owner delete the blob before its end.")
@seal_store_options
@connection_options
@with_user_errors
def store(
    file: str,
    epochs: int,
    deletable: bool,
    connection: Connection,
    as_json: bool,
    seal: SealOptions,
) -> None:
    """Store FILE (or - for stdin) and print its blob id (--encrypt: Seal-encrypted first)."""
    data = _input_file(file)
    client = connection.client()
    data = encrypt_for_store(data, client, seal)
    with grace_for_stragglers(client):
        with progress_bar(not as_json) as progress:
            result = client.store(data, epochs=epochs, deletable=deletable, progress=progress)
        _print_store_result(result, as_json)


def _print_store_result(result: StoreResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_json())
        return
    if result.status == "alreadyCertified":
        click.echo(f"Blob already certified until epoch {result.end_epoch} (nothing paid).")
    else:
        reused = " (reused the paid registration)" if result.reused_registration else ""
        click.echo(
            f"Stored {result.size} bytes: token {result.token_id}, cost {result.cost} FROST"
            f"{reused}, available until epoch {result.end_epoch}."
        )
        # nodes that were only slower than the quorum still get their slivers (and can
        # recover them from peers): only real failures are worth a line
        for failure in result.failed_nodes:
            if not failure.endswith(SLOWER_THAN_QUORUM):
                click.echo(f"  not confirmed: {failure}", err=True)
    click.echo(f"Blob id: {result.blob_id}")


@click.command("read")
@click.argument("blob_id")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the blob to this file (default: stdout).",
)
@seal_read_options
@connection_options
@with_user_errors
def read(
    blob_id: str,
    out: Path | None,
    connection: Connection,
    as_json: bool,
    seal: SealOptions,
) -> None:
    """Read BLOB_ID from the storage nodes to --out or stdout (Seal blobs are decrypted)."""
    blob = parse_blob_id(blob_id)
    if out is not None:
        check_output_file(out)
    client = connection.client()
    with progress_bar(not as_json and out is not None) as progress:
        data = client.read(blob, progress=progress)
    data = decrypt_after_read(data, client, seal)
    if out is not None:
        write_output_file(out, data)
        if as_json:
            emit_json({"blob_id": str(blob), "size": len(data), "out": str(out)})
        else:
            click.echo(f"Wrote {len(data)} bytes of blob {blob} to {out}.", err=True)
        return
    write_to_stdout(data, f"blob {blob}")


@click.command("blob-id")
@click.argument("file", type=str)
@click.option(
    "--n-shards",
    type=click.IntRange(min=4),
    help="Shard count to encode for (default: the network's, read from the chain).",
)
@connection_options
@with_user_errors
def blob_id(
    file: str,
    n_shards: int | None,
    connection: Connection,
    as_json: bool,
) -> None:
    """Compute the blob id of FILE without storing it."""
    data = _input_file(file)
    if n_shards is None:
        n_shards = connection.client().n_shards
    computed = compute_blob_id_of(data, n_shards)
    if as_json:
        emit_json({"blob_id": str(computed), "size": len(data), "n_shards": n_shards})
    else:
        click.echo(str(computed))


@click.command("blob-status")
@click.argument("blob_id")
@connection_options
@with_user_errors
def blob_status(
    blob_id: str,
    connection: Connection,
    as_json: bool,
) -> None:
    """Show whether BLOB_ID is certified, until when, and how many nodes hold it."""
    blob = parse_blob_id(blob_id)
    client = connection.client()
    status = client.status(blob)
    if as_json:
        emit_json(status.to_json())
        return
    click.echo(f"Blob {status.blob_id}: {status.state}")
    if status.certified_until:
        click.echo(f"  certified until epoch {status.certified_until} (now {status.current_epoch})")
    click.echo(f"  registrations: {status.registrations}")
    click.echo(f"  nodes holding metadata: {status.nodes_with_metadata}")
