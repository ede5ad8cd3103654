"""Files the CLI writes for the user (`--out`): a target that cannot be written is one line,
checked before anything is fetched, instead of an OSError traceback after the download."""

from __future__ import annotations

from pathlib import Path

import click


def check_output_file(path: Path) -> None:
    """Refuse an `--out` file whose directory does not exist, or that is a directory."""
    if path.is_dir():
        raise click.ClickException(f"cannot write {path}: it is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise click.ClickException(f"cannot write {path}: directory {parent} does not exist")


def check_output_directory(path: Path) -> None:
    """Refuse an `--out` directory that is an existing file."""
    if path.exists() and not path.is_dir():
        raise click.ClickException(f"cannot write into {path}: it is a file, not a directory")


def write_output_file(path: Path, data: bytes) -> None:
    """Write `data` to `path`; a refusal (permissions, full disk) is one line."""
    try:
        path.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None


def make_output_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(
            f"cannot create directory {path}: {error.strerror or error}"
        ) from None
