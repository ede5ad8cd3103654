"""Quilt layout (backend/core/quilt): round trips, columns = secondary slivers, bad input."""

from __future__ import annotations

import base64
import random

import pytest

from backend.core.blob_id import BlobId
from backend.core.encoder import encode_blob
from backend.core.pairs import secondary_index_of_pair
from backend.core.params import EncodingParams
from backend.core.quilt import (
    MAX_PATCHES,
    DuplicateIdentifier,
    InvalidIdentifier,
    InvalidQuiltPatchId,
    InvalidTags,
    MalformedQuilt,
    PatchNotFound,
    QuiltFile,
    QuiltPatchId,
    TooManyPatches,
    build_quilt,
    columns_of_range,
    find_patch,
    index_length,
    parse_index,
    parse_record,
    stream_of_blob,
)
from backend.core.sliver_kind import SliverKind


def mixed_files(count: int, seed: int = 7) -> list[QuiltFile]:
    rng = random.Random(seed)
    return [
        QuiltFile(
            f"file-{i:04d}.bin",
            rng.randbytes(rng.choice([0, 1, 17, 300, 1024, 5000])),
            {"i": str(i), "parity": "even" if i % 2 == 0 else "odd"},
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [1, 2, 665, 666])
def test_every_patch_reads_back_from_the_stream(count: int) -> None:
    files = mixed_files(count)
    layout = build_quilt(files, 8)
    stream = stream_of_blob(layout.blob, 8)
    entries = parse_index(stream)
    assert [e.identifier for e in entries] == sorted(f.identifier for f in files)
    by_name = {f.identifier: f for f in files}
    for entry in entries:
        patch = parse_record(stream[entry.start : entry.end])
        assert patch.data == by_name[entry.identifier].data
        assert patch.tags == by_name[entry.identifier].tags
        assert entry.data_length == len(patch.data)


def test_columns_of_the_source_matrix_are_the_secondary_slivers() -> None:
    n = 10
    params = EncodingParams(n)
    layout = build_quilt(mixed_files(40), n)
    encoded = encode_blob(layout.blob, n)
    stream = stream_of_blob(layout.blob, n)
    column = params.p * layout.symbol_size
    for pair in range(n):
        _, secondary = encoded.sliver_pair(pair)
        assert secondary.kind is SliverKind.SECONDARY
        j = secondary_index_of_pair(pair, n)
        if j < params.s:
            assert secondary.data == stream[j * column : (j + 1) * column]
    # a patch's record is inside the columns its range names
    entry = parse_index(stream)[20]
    cols = columns_of_range(params, layout.symbol_size, entry.start, entry.end)
    joined = stream[cols.start * column : cols.stop * column]
    offset = entry.start - cols.start * column
    record = joined[offset : offset + entry.end - entry.start]
    assert parse_record(record).identifier == entry.identifier
    assert len(cols) < params.s  # one patch never needs the whole quilt here


def test_the_index_header_fits_the_first_column_and_the_size_is_exact() -> None:
    for n in (4, 7, 8, 10, 31):
        params = EncodingParams(n)
        layout = build_quilt([QuiltFile("a", b"")], n)
        assert len(layout.blob) == params.p * params.s * layout.symbol_size
        assert params.symbol_size(len(layout.blob)) == layout.symbol_size
        first_column = stream_of_blob(layout.blob, n)[: params.p * layout.symbol_size]
        assert index_length(first_column) <= layout.stream_length


def test_the_same_files_in_any_order_give_the_same_quilt() -> None:
    files = mixed_files(30)
    shuffled = random.Random(1).sample(files, len(files))
    assert build_quilt(files, 8).blob == build_quilt(shuffled, 8).blob


def test_bad_input_is_named() -> None:
    with pytest.raises(DuplicateIdentifier, match="'x' appears twice"):
        build_quilt([QuiltFile("x", b"1"), QuiltFile("x", b"2")], 8)
    with pytest.raises(TooManyPatches, match="at most 666"):
        build_quilt(mixed_files(MAX_PATCHES + 1), 8)
    with pytest.raises(TooManyPatches, match="at least one"):
        build_quilt([], 8)
    with pytest.raises(InvalidIdentifier, match="non-empty"):
        build_quilt([QuiltFile("", b"1")], 8)
    with pytest.raises(InvalidIdentifier, match="limit is 1024"):
        build_quilt([QuiltFile("x" * 1025, b"1")], 8)
    with pytest.raises(InvalidTags):
        build_quilt([QuiltFile("x", b"1", {"k": 1})], 8)  # type: ignore[dict-item]
    with pytest.raises(MalformedQuilt, match="not a quilt"):
        index_length(b"\x00" * 64)


def test_lookup_by_identifier_and_tag() -> None:
    entries = build_quilt(mixed_files(10), 8).patches
    assert find_patch(entries, identifier="file-0003.bin")[0].tags["i"] == "3"
    assert len(find_patch(entries, tag=("parity", "odd"))) == 5
    with pytest.raises(PatchNotFound, match="identifier 'nope'"):
        find_patch(entries, identifier="nope")


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_patch_ids_are_url_safe_stable_and_strict() -> None:
    quilt = BlobId(bytes(range(32)))
    patch_id = QuiltPatchId(quilt, 1234, 99999)
    text = str(patch_id)
    assert len(text) == 66 and text.replace("-", "").replace("_", "").isalnum()
    assert QuiltPatchId.parse(text) == patch_id
    for bad, reason in [
        ("abc", "66 characters"),
        (text[:-1] + "!", "URL-safe"),
        (_text(patch_id.to_bytes()[:32] + b"\x02" + patch_id.to_bytes()[33:]), "version 2"),
    ]:
        with pytest.raises(InvalidQuiltPatchId, match=reason):
            QuiltPatchId.parse(bad)
    with pytest.raises(InvalidQuiltPatchId, match="start < end"):
        QuiltPatchId(quilt, 5, 5)


def test_planned_blob_length_matches_the_built_quilt() -> None:
    from backend.core.quilt import planned_blob_length

    for count in (1, 50, 666):
        files = mixed_files(count)
        planned = planned_blob_length(8, [(f.identifier, f.tags, len(f.data)) for f in files])
        assert planned == len(build_quilt(files, 8).blob)
