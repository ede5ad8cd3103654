"""`walrus store-quilt | read-quilt | list-patches-in-quilt`: many small files per blob."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from backend.cli.client_options import (
    Connection,
    connection_options,
    emit_json,
    parse_blob_id,
    with_user_errors,
)
from backend.cli.output_files import (
    check_output_directory,
    check_output_file,
    make_output_directory,
    write_output_file,
    write_to_stdout,
)
from backend.cli.stragglers import grace_for_stragglers
from backend.core.blob_id import BLOB_ID_TEXT_LENGTH
from backend.core.quilt import QuiltFile, QuiltPatchId
from backend.sdk.client import read_input
from backend.sdk.quilt import DEFAULT_MAX_QUILT_BYTES, PatchRead, QuiltClient
from backend.sdk.quilt_batch import (
    DEFAULT_CONCURRENCY,
    MANIFEST_NAME,
    BatchFile,
    BatchProgress,
    ingest,
    scan_directory,
)


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.ClickException(f"a tag is KEY=VALUE, got {text!r}")
    return key, value


def _inputs(paths: tuple[Path, ...]) -> list[BatchFile]:
    """Files named on the command line (identifier: file name) and the files of directories
    (identifier: path relative to the directory)."""
    found: list[BatchFile] = []
    for path in paths:
        if path.is_dir():
            found += scan_directory(path)
        elif path.is_file():
            stat = path.stat()
            found.append(BatchFile(path.name, path, stat.st_size, stat.st_mtime_ns))
        else:
            raise click.ClickException(f"file not found: {path}")
    return found


@click.command("store-quilt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE tag for every file (repeatable).")
@click.option("--epochs", type=int, default=1, show_default=True, help="Epochs to store for.")
@click.option("--deletable", is_flag=True, help="Let the owner delete the quilts.")
@click.option(
    "--batch",
    is_flag=True,
    help="Bulk mode for one directory: concurrent quilt stores, resumable through a manifest.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Batch manifest (default: DIR/{MANIFEST_NAME}).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Quilts stored at once in batch mode.",
)
@click.option(
    "--max-quilt-bytes",
    type=click.IntRange(min=1024),
    default=DEFAULT_MAX_QUILT_BYTES,
    show_default=True,
    help="Soft size of one quilt; a larger file is stored as a blob of its own.",
)
@connection_options
@with_user_errors
def store_quilt(
    paths: tuple[Path, ...],
    tags: tuple[str, ...],
    epochs: int,
    deletable: bool,
    batch: bool,
    manifest: Path | None,
    concurrency: int,
    max_quilt_bytes: int,
    connection: Connection,
    as_json: bool,
) -> None:
    """Store files (or the files of directories) as quilts of up to 666 files each."""
    tag_map = dict(_tag(text) for text in tags)
    if batch:
        if len(paths) != 1 or not paths[0].is_dir():
            raise click.ClickException("--batch takes exactly one directory")
        files = scan_directory(paths[0])
    else:
        files = _inputs(paths)
    if not files:
        raise click.ClickException("no files to store")
    quilts = QuiltClient(connection.client(), max_quilt_bytes=max_quilt_bytes)
    with grace_for_stragglers(quilts.client):
        _store_and_print(
            quilts, files, paths, manifest, tag_map, epochs, deletable, batch, concurrency, as_json
        )


def _store_and_print(
    quilts: QuiltClient,
    files: list[BatchFile],
    paths: tuple[Path, ...],
    manifest: Path | None,
    tag_map: dict[str, str],
    epochs: int,
    deletable: bool,
    batch: bool,
    concurrency: int,
    as_json: bool,
) -> None:
    if batch:
        manifest_path = manifest or paths[0] / MANIFEST_NAME
        with _bar(len(files), enabled=not as_json) as progress:
            result = ingest(
                quilts,
                files,
                manifest_path,
                tags=tag_map,
                epochs=epochs,
                deletable=deletable,
                concurrency=concurrency,
                progress=progress,
            )
        if as_json:
            emit_json(result.to_json())
            return
        new = [r for r in result.quilts if r["new"]]
        click.echo(
            f"Stored {result.files - result.skipped_files} files in {len(new)} quilts "
            f"({result.skipped_files} files already stored before), cost {result.cost} FROST; "
            f"manifest {manifest_path}"
        )
        for record in result.standalone:
            click.echo(
                f"  {record['first']}: too large for a quilt, stored as blob {record['blob_id']}"
            )
        return
    contents = [QuiltFile(f.identifier, read_input(str(f.path)), tag_map) for f in files]
    stored = quilts.store_files(contents, epochs=epochs, deletable=deletable)
    if as_json:
        emit_json(stored.to_json())
        return
    for quilt in stored.quilts:
        click.echo(
            f"Quilt {quilt.blob.blob_id}: {len(quilt.patches)} files, {quilt.blob.status}, "
            f"cost {quilt.blob.cost} FROST, until epoch {quilt.blob.end_epoch}"
        )
        for patch in quilt.patches:
            click.echo(f"  {patch.patch_id}  {patch.identifier}")
    for alone in stored.standalone:
        click.echo(
            f"{alone.identifier}: larger than a quilt holds, stored as its own blob "
            f"{alone.blob.blob_id} (cost {alone.blob.cost} FROST)"
        )


class _bar:
    """One progress bar over the batch's files (stderr, terminals only)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.total = total
        self.progress: Progress | None = None

    def __enter__(self) -> BatchProgress | None:
        if not self.enabled:
            return None
        self.progress = Progress(
            TextColumn("files stored"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.progress.start()
        task = self.progress.add_task("files", total=self.total)
        progress = self.progress

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return update

    def __exit__(self, *_: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def _write_patch(read: PatchRead, out: Path | None, as_json: bool) -> None:
    patch = read.patch
    if out is None:
        write_to_stdout(patch.data, f"patch {patch.identifier!r}")
        return
    write_output_file(out, patch.data)
    if as_json:
        emit_json({"identifier": patch.identifier, "tags": patch.tags, "size": len(patch.data)})
    else:
        click.echo(f"Wrote {len(patch.data)} bytes of {patch.identifier} to {out}.", err=True)


@click.command("read-quilt")
@click.argument("quilt_id")
@click.option("--identifier", help="Read the patch with this identifier.")
@click.option("--tag", help="Read every patch with this KEY=VALUE tag (--out: a directory).")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="File to write (a directory with --tag); default: stdout.",
)
@connection_options
@with_user_errors
def read_quilt(
    quilt_id: str,
    identifier: str | None,
    tag: str | None,
    out: Path | None,
    connection: Connection,
    as_json: bool,
) -> None:
    """Read a patch: QUILT_ID is a quilt patch id, or a quilt's blob id with --identifier or
    --tag. Only the slivers holding the patch are fetched."""
    if identifier is not None and tag is not None:
        raise click.ClickException("give --identifier or --tag, not both")
    if out is not None:
        (check_output_directory if tag is not None else check_output_file)(out)
    if len(quilt_id) != BLOB_ID_TEXT_LENGTH and not quilt_id.startswith("0x"):
        if identifier is not None or tag is not None:
            raise click.ClickException(
                "--identifier and --tag need the quilt's blob id, not a patch id"
            )
        patch_id = QuiltPatchId.parse(quilt_id)
        _write_patch(QuiltClient(connection.client()).read_patch(patch_id), out, as_json)
        return
    blob_id = parse_blob_id(quilt_id)
    if identifier is None and tag is None:
        raise click.ClickException(
            f"{quilt_id} is a blob id, not a quilt patch id: for a quilt, add --identifier "
            f"NAME or --tag KEY=VALUE, or pass a patch id (walrus list-patches-in-quilt); "
            f"for a plain blob, use walrus read"
        )
    quilts = QuiltClient(connection.client())
    if identifier is not None:
        _write_patch(quilts.read_by_identifier(blob_id, identifier), out, as_json)
        return
    assert tag is not None
    key, value = _tag(tag)
    reads = quilts.read_by_tag(blob_id, key, value)
    if out is None:
        if len(reads) > 1:
            raise click.ClickException(
                f"{len(reads)} patches have tag {key}={value}: give --out DIRECTORY"
            )
        _write_patch(reads[0], None, as_json)
        return
    make_output_directory(out)
    written = []
    for read in reads:
        target = out / Path(read.patch.identifier).name
        write_output_file(target, read.patch.data)
        written.append({"identifier": read.patch.identifier, "out": str(target)})
    if as_json:
        emit_json(written)
    else:
        click.echo(f"Wrote {len(written)} patches with tag {key}={value} to {out}.", err=True)


@click.command("list-patches-in-quilt")
@click.argument("quilt_id")
@connection_options
@with_user_errors
def list_patches_in_quilt(quilt_id: str, connection: Connection, as_json: bool) -> None:
    """List a quilt's patches: identifier, size, tags and patch id (from its index only)."""
    blob_id = parse_blob_id(quilt_id)
    listed = QuiltClient(connection.client()).patch_ids(blob_id)
    if as_json:
        emit_json([{**entry.to_json(), "patch_id": str(patch_id)} for entry, patch_id in listed])
        return
    click.echo(f"Quilt {blob_id}: {len(listed)} patches")
    for entry, patch_id in listed:
        tags = " ".join(f"{k}={v}" for k, v in sorted(entry.tags.items()))
        click.echo(f"  {patch_id}  {entry.data_length:>10}  {entry.identifier}  {tags}".rstrip())
