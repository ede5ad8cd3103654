"""Systematic Reed-Solomon codes on whole shards, behind one small interface.

A code with parameters (k, n) maps k source shards of equal length to n shards whose
first k are the source shards themselves; any k of the n shards give the source back.
Shards are the rows of a 2-D ``uint8`` numpy array. Both codes act on every field
element position of the shards independently and identically, so coding a row of
symbols in one call is the same as coding each symbol on its own: this is what makes
the Red Stuff matrix commute (extend columns then rows = rows then columns).

- Type 1, zfec: GF(2^8), one byte is one field element, n <= 256.
- Type 2, reed-solomon-leopard (reed-solomon-simd): GF(2^16). A field element is two
  consecutive bytes (low, high) of a shard, so symbol sizes are even. The library wants
  its own layout (64-byte chunks: 32 low bytes then 32 high bytes), which we convert
  to and from in one native pass (backend/core/_native/leopard_layout.c; numpy's
  stride-2 byte gathers cost ~1 ms per MiB, more than the coding itself), or with numpy
  when the extension is not built (same bytes). Position k + r of the codeword is the
  library's recovery shard r. Wide shards are coded in column windows of about
  `WINDOW_BYTES` over all n shards per library call (the windows are independent, as above):
  one call over whole 585 KiB shards page-faulted ~10 MiB of fresh work buffers and ran the
  FFT passes out of cache, ~9x the CPU of the same bytes in 50 KiB windows (docs/benchmarks.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import reed_solomon_leopard
import zfec

from backend.core.encoding_types import MAX_SHARDS, EncodingType
from backend.core.errors import InvalidShardCount

Shards = npt.NDArray[np.uint8]

_native_to_layout: Callable[..., list[bytes]] | None
_native_from_layout: Callable[..., None] | None
try:  # optional C extension built by bootstrap; the numpy functions below give the same bytes
    from backend.core._native.leopard_layout import from_layout as _native_from_layout
    from backend.core._native.leopard_layout import to_layout as _native_to_layout
except ImportError:  # pragma: no cover - depends on the build
    _native_to_layout = _native_from_layout = None


class ReedSolomonCode(ABC):
    """A systematic (k, n) MDS code over whole shards (rows of a 2-D uint8 array)."""

    encoding_type: EncodingType

    def __init__(self, k: int, n: int) -> None:
        limit = MAX_SHARDS[self.encoding_type]
        if not 1 <= k < n <= limit:
            raise InvalidShardCount(
                f"{self.encoding_type.name} needs 1 <= k < n <= {limit}, got k = {k}, n = {n}"
            )
        self.k = k
        self.n = n

    @abstractmethod
    def encode(self, source: Shards) -> Shards:
        """Return the n - k parity shards (codeword positions k..n-1) of k source shards."""

    @abstractmethod
    def decode(self, positions: Sequence[int], shards: Shards) -> Shards:
        """Return the k source shards from k shards at distinct codeword `positions`."""

    def _check_decode_input(self, positions: Sequence[int], shards: Shards) -> None:
        if len(positions) != self.k or shards.shape[0] != self.k:
            raise ValueError(f"decoding needs exactly k = {self.k} shards, got {len(positions)}")
        if len(set(positions)) != self.k or not all(0 <= p < self.n for p in positions):
            raise ValueError(f"shard positions must be distinct and in [0, {self.n}): {positions}")


class ZfecCode(ReedSolomonCode):
    """GF(2^8) Vandermonde code from zfec (encoding type 1)."""

    encoding_type = EncodingType.RS_GF256_ZFEC

    def __init__(self, k: int, n: int) -> None:
        super().__init__(k, n)
        self._encoder = zfec.Encoder(k, n)
        self._decoder = zfec.Decoder(k, n)
        self._parity_numbers = list(range(k, n))

    def encode(self, source: Shards) -> Shards:
        width = source.shape[1]
        if width == 0:
            return np.zeros((self.n - self.k, 0), dtype=np.uint8)
        blocks = self._encoder.encode(list(np.ascontiguousarray(source)), self._parity_numbers)
        return np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(self.n - self.k, width)

    def decode(self, positions: Sequence[int], shards: Shards) -> Shards:
        self._check_decode_input(positions, shards)
        width = shards.shape[1]
        if width == 0:
            return np.zeros((self.k, 0), dtype=np.uint8)
        blocks = self._decoder.decode(list(np.ascontiguousarray(shards)), list(positions))
        return np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(self.k, width)


_CHUNK = 64  # reed-solomon-simd processes shards in 64-byte chunks of 32 GF(2^16) elements
WINDOW_BYTES = 1 << 20
"""Bytes of all n shards (source and parity) per reed-solomon-leopard encode call, at most."""
DECODE_WINDOW_BYTES = 4 << 20
"""The same for decode: each decode call also pays a fixed cost (the erasure locator over
the whole field), so its windows are wider (measured best of 1, 2, 4, 8 MiB and whole)."""
MIN_WINDOW_WIDTH = 4096
"""Column window floor per shard: below it the per-call cost (one bytes object per shard)
dominates; at large n (small symbols) shards are narrower than this anyway."""


def _window_width(n: int, budget: int = WINDOW_BYTES) -> int:
    """Bytes per shard per library call: whole 64-byte chunks, `budget` over n shards."""
    return max(MIN_WINDOW_WIDTH, budget // n // _CHUNK * _CHUNK)


def _flat_span(rows: Shards, writeable: bool) -> tuple[Shards, int] | None:
    """(1-D view from the first to the last byte of `rows`, row stride) when each row is
    contiguous, so the native conversions can walk a column window in place; else None."""
    count, width = rows.shape
    stride = rows.strides[0]
    if count == 0 or rows.strides[1] != 1 or stride < width:
        return None
    span = np.lib.stride_tricks.as_strided(
        rows, shape=((count - 1) * stride + width,), strides=(1,), writeable=writeable
    )
    return span, stride


def _to_leopard_layout(shards: Shards) -> list[bytes]:
    """Canonical (low, high) byte pairs -> the library's chunk layout, padded to 64 bytes."""
    if _native_to_layout is None:
        return _to_leopard_layout_numpy(shards)
    rows, width = shards.shape
    span = _flat_span(shards, writeable=False)
    if span is None:
        return _native_to_layout(np.ascontiguousarray(shards), rows, width)
    return _native_to_layout(span[0], rows, width, span[1])


def _from_leopard_layout(blocks: Sequence[bytes], width: int) -> Shards:
    """The library's chunk layout -> canonical rows of `width` bytes (padding dropped)."""
    if _native_from_layout is None:
        return _from_leopard_layout_numpy(blocks, width)
    canonical = np.empty((len(blocks), width), dtype=np.uint8)
    _native_from_layout(blocks, width, canonical)
    return canonical


def _from_leopard_layout_into(blocks: Sequence[bytes], out: Shards) -> None:
    """`_from_leopard_layout` written into `out` (rows x width, e.g. a column window)."""
    width = out.shape[1]
    span = _flat_span(out, writeable=True) if _native_from_layout is not None else None
    if span is None or _native_from_layout is None:
        out[...] = _from_leopard_layout(blocks, width)
        return
    _native_from_layout(blocks, width, span[0], span[1])


def _to_leopard_layout_numpy(shards: Shards) -> list[bytes]:
    """Fallback and reference for the native conversion (tests compare the two)."""
    rows, width = shards.shape
    full, tail = divmod(width, _CHUNK)
    chunks = full + (tail > 0)
    half = _CHUNK // 2
    laid_out = np.empty((rows, chunks, 2, half), dtype=np.uint8)
    body = shards[:, : full * _CHUNK].reshape(rows, full, half, 2)
    laid_out[:, :full, 0] = body[..., 0]
    laid_out[:, :full, 1] = body[..., 1]
    if tail:
        last = np.zeros((rows, _CHUNK), dtype=np.uint8)
        last[:, :tail] = shards[:, full * _CHUNK :]
        pairs = last.reshape(rows, half, 2)
        laid_out[:, full, 0] = pairs[..., 0]
        laid_out[:, full, 1] = pairs[..., 1]
    return [row.tobytes() for row in laid_out.reshape(rows, chunks * _CHUNK)]


def _from_leopard_layout_numpy(blocks: Sequence[bytes], width: int) -> Shards:
    """Fallback and reference for the native conversion (tests compare the two)."""
    rows = len(blocks)
    chunks = len(blocks[0]) // _CHUNK
    half = _CHUNK // 2
    raw = np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(rows, chunks, 2, half)
    canonical = np.empty((rows, chunks * _CHUNK), dtype=np.uint8)
    pairs = canonical.reshape(rows, chunks, half, 2)
    pairs[..., 0] = raw[:, :, 0]
    pairs[..., 1] = raw[:, :, 1]
    if width == chunks * _CHUNK:
        return canonical
    return np.ascontiguousarray(canonical[:, :width])


class LeopardCode(ReedSolomonCode):
    """GF(2^16) FFT-based code from reed-solomon-leopard (encoding type 2)."""

    encoding_type = EncodingType.RS_GF65536_LEOPARD

    def __init__(self, k: int, n: int) -> None:
        super().__init__(k, n)
        if not reed_solomon_leopard.supports(k, n - k):
            raise InvalidShardCount(f"reed-solomon-leopard does not support k = {k}, n = {n}")

    def encode(self, source: Shards) -> Shards:
        width = source.shape[1]
        if width % 2:
            raise ValueError(f"GF(2^16) shards need an even length, got {width}")
        if width == 0:
            return np.zeros((self.n - self.k, 0), dtype=np.uint8)
        parity = np.empty((self.n - self.k, width), dtype=np.uint8)
        step = _window_width(self.n)
        for start in range(0, width, step):
            window = _to_leopard_layout(source[:, start : start + step])
            recovery = reed_solomon_leopard.encode(window, self.n - self.k)
            _from_leopard_layout_into(recovery, parity[:, start : start + step])
        return parity

    def decode(self, positions: Sequence[int], shards: Shards) -> Shards:
        """Source shards given are copied as they are; the missing ones are restored window
        by window (like `encode`)."""
        self._check_decode_input(positions, shards)
        width = shards.shape[1]
        if width % 2:
            raise ValueError(f"GF(2^16) shards need an even length, got {width}")
        source = np.empty((self.k, width), dtype=np.uint8)
        for row, position in enumerate(positions):
            if position < self.k:
                source[position] = shards[row]
        missing = sorted(set(range(self.k)) - set(positions))
        if width == 0 or not missing:
            return source
        step = _window_width(self.n, DECODE_WINDOW_BYTES)
        for start in range(0, width, step):
            blocks = _to_leopard_layout(shards[:, start : start + step])
            originals = {p: b for p, b in zip(positions, blocks, strict=True) if p < self.k}
            recovery = {
                p - self.k: b for p, b in zip(positions, blocks, strict=True) if p >= self.k
            }
            restored = reed_solomon_leopard.decode(self.k, self.n - self.k, originals, recovery)
            for position in missing:
                window = source[position : position + 1, start : start + step]
                _from_leopard_layout_into([restored[position]], window)
        return source


@lru_cache(maxsize=64)
def rs_code(encoding_type: EncodingType, k: int, n: int) -> ReedSolomonCode:
    """The (k, n) code of `encoding_type`; instances are cached (zfec builds tables)."""
    if EncodingType(encoding_type) == EncodingType.RS_GF256_ZFEC:
        return ZfecCode(k, n)
    return LeopardCode(k, n)
