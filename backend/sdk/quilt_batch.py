"""Bulk ingestion: a directory of (100,000+) small files stored as quilts, concurrently,
resumable without paying twice.

A local manifest (JSON lines, each line flushed and fsynced before the next step) records
every quilt's outcome: ``registered`` (paid, certification failed: the token id) or
``certified`` (blob id, token, cost). A quilt is keyed by its files' identifiers, sizes and
modification times. Running the same batch again skips certified quilts without reading
their files, and stores the others through `Client.store`, which reuses the wallet's paid
uncertified registration of the same blob id (quilts are deterministic: same files, same
bytes, same blob id).

Before storing anything the batch checks every file (identifiers, sizes), checks the WAL
balance against the total cost, and approves the registry for it in one transaction (so
concurrent stores do not race on permit nonces).
"""

from __future__ import annotations

import concurrent.futures as futures
import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core.quilt import QuiltFile, planned_blob_length
from backend.sdk.client import read_input
from backend.sdk.errors import InsufficientWal, NotEnoughConfirmations, SdkError
from backend.sdk.quilt import QuiltClient, check_unique, group_files

MANIFEST_NAME = ".walrus-quilt-manifest.jsonl"
DEFAULT_CONCURRENCY = 4
BatchProgress = Callable[[int, int], None]
"""Called as (files done, files in the batch)."""


class BatchIncomplete(SdkError):
    """Some quilts of a batch were not stored; running the batch again resumes it."""


@dataclass(frozen=True)
class BatchFile:
    identifier: str
    path: Path
    size: int
    mtime_ns: int


def scan_directory(root: Path) -> list[BatchFile]:
    """Every regular file under `root` (recursively), identified by its relative POSIX path,
    sorted; the manifest itself is left out."""
    if not root.is_dir():
        raise SdkError(f"not a directory: {root}")
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if name == MANIFEST_NAME or not path.is_file():
                continue
            stat = path.stat()
            found.append(
                BatchFile(path.relative_to(root).as_posix(), path, stat.st_size, stat.st_mtime_ns)
            )
    return sorted(found, key=lambda f: f.identifier)


class Manifest:
    """Append-only JSON lines, durable line by line (write, flush, fsync)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        """The last record of every key (a torn last line, from a crash, is ignored)."""
        records: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return records
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                records[record["key"]] = record
        return records

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(dict(record), sort_keys=True) + "\n"
        with self._lock:
            created = not self.path.exists()
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            if created:
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)


@dataclass
class BatchResult:
    quilts: list[dict[str, Any]] = field(default_factory=list)
    """One record per quilt (as in the manifest), stored now or skipped as done before."""
    standalone: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0
    skipped_files: int = 0

    @property
    def cost(self) -> int:
        return sum(int(r.get("cost", 0)) for r in self.quilts + self.standalone if r["new"])

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "skipped_files": self.skipped_files,
            "quilts": self.quilts,
            "standalone_blobs": self.standalone,
            "cost": self.cost,
        }


def _key(kind: str, files: Sequence[BatchFile]) -> str:
    digest = hashlib.sha256(kind.encode())
    for file in files:
        digest.update(json.dumps([file.identifier, file.size, file.mtime_ns]).encode())
    return digest.hexdigest()[:32]


def ingest(
    quilts: QuiltClient,
    files: Sequence[BatchFile],
    manifest_path: Path,
    *,
    tags: Mapping[str, str] | None = None,
    epochs: int = 1,
    deletable: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: BatchProgress | None = None,
) -> BatchResult:
    """Store `files` as quilts (and too-large files as blobs of their own); see the module
    docstring. Raises BatchIncomplete naming the failures after the work that could be done."""
    tags = dict(tags or {})
    check_unique([f.identifier for f in files])
    for file in files:
        quilts.check_storable(file.identifier, file.size)
    alone = [f for f in files if quilts.is_standalone((f.identifier, tags, f.size))]
    alone_ids = {f.identifier for f in alone}
    packed = [f for f in files if f.identifier not in alone_ids]
    sizes = [f.size for f in packed]
    groups = [[packed[i] for i in g] for g in group_files(sizes, max_bytes=quilts.max_quilt_bytes)]
    work: list[tuple[str, list[BatchFile], bool]] = [(_key("quilt", g), g, False) for g in groups]
    work += [(_key("blob", [f]), [f], True) for f in alone]
    manifest = Manifest(manifest_path)
    done_before = manifest.load()
    result = BatchResult(files=len(files))
    pending = []
    for key, members, standalone in work:
        record = done_before.get(key)
        if record is not None and record.get("status") == "certified":
            (result.standalone if standalone else result.quilts).append({**record, "new": False})
            result.skipped_files += len(members)
        else:
            pending.append((key, members, standalone))
    _prepare_payment(quilts, pending, tags, epochs, done_before)

    client = quilts.client
    done_files = result.skipped_files
    if progress is not None:
        progress(done_files, len(files))

    def store(key: str, members: list[BatchFile], standalone: bool) -> dict[str, Any]:
        try:
            if standalone:
                stored = client.store(str(members[0].path), epochs=epochs, deletable=deletable)
                patches = 0
            else:
                contents = [QuiltFile(f.identifier, read_input(str(f.path)), tags) for f in members]
                stored_quilt = quilts.store_quilt(contents, epochs=epochs, deletable=deletable)
                stored, patches = stored_quilt.blob, len(stored_quilt.patches)
        except NotEnoughConfirmations as error:
            manifest.append({"key": key, "status": "registered", "token_id": error.token_id})
            raise
        record = {
            "key": key,
            "status": "certified",
            "blob_id": str(stored.blob_id),
            "token_id": stored.token_id,
            "end_epoch": stored.end_epoch,
            "cost": stored.cost,
            "reused_registration": stored.reused_registration,
            "files": len(members),
            "patches": patches,
            "first": members[0].identifier,
            "last": members[-1].identifier,
        }
        manifest.append(record)
        return record

    failures: list[str] = []
    queue = list(reversed(pending))
    pool = futures.ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        running: dict[futures.Future[dict[str, Any]], tuple[str, list[BatchFile], bool]] = {}
        while queue or running:
            # at most `concurrency` quilts in flight; none started after a failure
            while queue and not failures and len(running) < max(1, concurrency):
                item = queue.pop()
                running[pool.submit(store, *item)] = item
            if not running:
                break
            finished_set, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for finished in finished_set:
                key, members, standalone = running.pop(finished)
                try:
                    record = finished.result()
                except SdkError as error:
                    failures.append(f"{members[0].identifier}..: {error}")
                    continue
                target = result.standalone if standalone else result.quilts
                target.append({**record, "new": True})
                done_files += len(members)
                if progress is not None:
                    progress(done_files, len(files))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if failures:
        stored = sum(1 for r in result.quilts + result.standalone)
        raise BatchIncomplete(
            f"{stored} of {len(work)} quilts/blobs stored, {len(failures)} failed "
            f"(first: {failures[0]}); run the same batch again to resume: stored quilts are "
            f"skipped and paid registrations reused (manifest {manifest_path})"
        )
    return result


def _prepare_payment(
    quilts: QuiltClient,
    pending: Sequence[tuple[str, list[BatchFile], bool]],
    tags: Mapping[str, str],
    epochs: int,
    done_before: Mapping[str, Mapping[str, Any]],
) -> None:
    """Check the balance covers every quilt not yet paid for, and approve the registry for
    all of them at once (one transaction instead of a permit per quilt)."""
    client = quilts.client
    n = client.n_shards
    total = 0
    for key, members, standalone in pending:
        if done_before.get(key, {}).get("status") == "registered":
            continue  # paid already; the store reuses the registration
        size = (
            members[0].size
            if standalone
            else planned_blob_length(n, [(f.identifier, tags, f.size) for f in members])
        )
        total += client.registry.registration_cost(size, epochs).total
    if total == 0:
        return
    owner = client.chain.address
    balance = client.wal_balance(owner)
    if balance < total:
        raise InsufficientWal(total, balance, "the batch")
    allowance = int(
        client.chain.call(client.wal.functions.allowance(owner, client.registry.address))
    )
    if allowance < total:
        client.chain.transact(client.wal.functions.approve(client.registry.address, total))
