"""The native GF(2^16) layout conversion gives exactly the numpy reference's bytes, and
coding in column windows gives exactly the library's whole-shard result."""

import random

import numpy as np
import pytest
import reed_solomon_leopard

from backend.core import rs

# Widths around the 64-byte chunk: a lone element, short tails, exact chunks, long rows.
WIDTHS = [2, 4, 30, 62, 64, 66, 126, 128, 130, 1000, 4098, 74898]


def _random_shards(rng: random.Random, rows: int, width: int) -> np.ndarray:
    return np.frombuffer(rng.randbytes(rows * width), dtype=np.uint8).reshape(rows, width)


def test_native_layout_is_built() -> None:
    # bootstrap builds it; without it every leopard encode/verify pays ~1 ms per MiB
    assert rs._native_to_layout is not None
    assert rs._native_from_layout is not None


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("rows", [1, 3, 14])
def test_to_layout_matches_numpy_reference(rows: int, width: int) -> None:
    shards = _random_shards(random.Random(rows * 100_000 + width), rows, width)
    native = rs._to_leopard_layout(shards)
    assert native == rs._to_leopard_layout_numpy(shards)
    assert all(len(block) == -(-width // 64) * 64 for block in native)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("rows", [1, 3, 14])
def test_from_layout_matches_numpy_reference_and_round_trips(rows: int, width: int) -> None:
    rng = random.Random(rows * 7 + width)
    padded = -(-width // 64) * 64
    blocks = [rng.randbytes(padded) for _ in range(rows)]
    native = rs._from_leopard_layout(blocks, width)
    assert native.shape == (rows, width)
    assert native.flags.c_contiguous
    assert np.array_equal(native, rs._from_leopard_layout_numpy(blocks, width))
    shards = _random_shards(rng, rows, width)
    assert np.array_equal(rs._from_leopard_layout(rs._to_leopard_layout(shards), width), shards)


def test_non_contiguous_shards_convert_like_their_copy() -> None:
    wide = _random_shards(random.Random(5), 4, 300)
    view = wide[:, 10:140]
    assert not view.flags.c_contiguous
    assert rs._to_leopard_layout(view) == rs._to_leopard_layout_numpy(np.ascontiguousarray(view))


@pytest.mark.parametrize(("k", "n", "width"), [(3, 4, 349_524), (2, 4, 130), (14, 20, 74_898)])
def test_leopard_codewords_are_the_same_with_and_without_native(
    monkeypatch: pytest.MonkeyPatch, k: int, n: int, width: int
) -> None:
    """Wire bytes (parity, decoded source) do not depend on whether the extension is built."""
    code = rs.LeopardCode(k, n)
    rng = random.Random(k * n * width)
    source = _random_shards(rng, k, width)
    positions = sorted(rng.sample(range(n), k))
    parity = code.encode(source)
    codeword = np.vstack([source, parity])
    decoded = code.decode(positions, codeword[positions])
    monkeypatch.setattr(rs, "_native_to_layout", None)
    monkeypatch.setattr(rs, "_native_from_layout", None)
    assert np.array_equal(code.encode(source), parity)
    assert np.array_equal(code.decode(positions, codeword[positions]), decoded)
    assert np.array_equal(decoded, source)


def test_strided_rows_convert_in_place_like_their_copy() -> None:
    wide = _random_shards(random.Random(6), 5, 1000)
    window = wide[:, 128:450]  # rows 1000 bytes apart, 322 wide (a short last chunk)
    assert rs._to_leopard_layout(window) == rs._to_leopard_layout_numpy(window.copy())
    blocks = rs._to_leopard_layout(window)
    out = np.zeros((5, 1000), dtype=np.uint8)
    rs._from_leopard_layout_into(blocks, out[:, 64:386])
    assert np.array_equal(out[:, 64:386], window)
    assert not out[:, :64].any() and not out[:, 386:].any()  # nothing written outside


def _whole_shard_parity(k: int, n: int, source: np.ndarray) -> np.ndarray:
    """One library call over whole shards, numpy layout: the reference for windowed coding."""
    recovery = reed_solomon_leopard.encode(rs._to_leopard_layout_numpy(source), n - k)
    return rs._from_leopard_layout_numpy(recovery, source.shape[1])


@pytest.mark.parametrize(
    ("k", "n", "windows"),
    [(8, 20, 3.5), (14, 20, 2), (2, 4, 1.01), (1, 4, 0.5)],  # shards of 3.5, 2, ... windows
)
def test_windowed_encoding_equals_one_whole_shard_call(
    monkeypatch: pytest.MonkeyPatch, k: int, n: int, windows: float
) -> None:
    width = int(rs._window_width(n) * windows) // 2 * 2 + 2  # ends inside a 64-byte chunk
    source = _random_shards(random.Random(k * n), k, width)
    code = rs.rs_code(rs.EncodingType.RS_GF65536_LEOPARD, k, n)
    expected = _whole_shard_parity(k, n, source)
    assert np.array_equal(code.encode(source), expected)
    assert np.array_equal(code.encode(np.asfortranarray(source)), expected)  # any memory layout
    monkeypatch.setattr(rs, "_native_to_layout", None)
    monkeypatch.setattr(rs, "_native_from_layout", None)
    assert np.array_equal(code.encode(source), expected)


@pytest.mark.parametrize(("k", "n"), [(8, 20), (14, 20), (2, 4)])
def test_windowed_decoding_restores_every_erasure_pattern(
    monkeypatch: pytest.MonkeyPatch, k: int, n: int
) -> None:
    rng = random.Random(k + n)
    width = int(rs._window_width(n, rs.DECODE_WINDOW_BYTES) * 2.5) // 2 * 2
    source = _random_shards(rng, k, width)
    code = rs.rs_code(rs.EncodingType.RS_GF65536_LEOPARD, k, n)
    codeword = np.vstack([source, _whole_shard_parity(k, n, source)])
    patterns = [list(range(n - k, n)), list(range(k)), sorted(rng.sample(range(n), k))]
    for positions in patterns:
        shuffled = rng.sample(positions, k)  # any order of the given shards
        assert np.array_equal(code.decode(shuffled, codeword[shuffled]), source)
    monkeypatch.setattr(rs, "_native_to_layout", None)
    monkeypatch.setattr(rs, "_native_from_layout", None)
    assert np.array_equal(code.decode(patterns[0], codeword[patterns[0]]), source)


def test_native_layout_rejects_mismatched_buffers() -> None:
    from backend.core._native.leopard_layout import from_layout, to_layout

    with pytest.raises(ValueError, match="rows \\* width"):
        to_layout(b"abcd", 3, 2)
    with pytest.raises(ValueError, match="width even"):
        to_layout(b"abc", 1, 3)
    with pytest.raises(ValueError, match="rounded up to 64"):
        from_layout([bytes(64), bytes(32)], 30, bytearray(60))
    with pytest.raises(ValueError, match="len\\(blocks\\) \\* width"):
        from_layout([bytes(64)], 30, bytearray(29))
    with pytest.raises(TypeError):
        from_layout(None, 30, bytearray(30))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stride bytes apart"):
        to_layout(bytes(100), 2, 64, 40)  # stride shorter than a row
    with pytest.raises(ValueError, match="stride bytes apart"):
        to_layout(bytes(100), 2, 30, 80)  # the second row would end past the buffer
    with pytest.raises(ValueError, match="stride bytes apart"):
        from_layout([bytes(64), bytes(64)], 30, bytearray(100), 80)
