"""A PNG writer whose compression runs on every core: 8-bit greyscale, grey + alpha, RGB or RGBA.

zlib compresses one stream on one core, and for a 12-megapixel photo that was the slowest part of saving it
(about 1.3 s of Pillow's encoder at zlib level 3). A deflate stream can be cut into independent pieces: each
band of rows is filtered and compressed on its own thread, every piece but the last ending on a byte boundary
(a sync flush), and the pieces joined make one valid stream. Rows are filtered with the Paeth predictor (PNG
filter type 4), which on photos compresses about as well as Pillow's adaptive choice per row: the same
12-megapixel photo came out at 8.38 MB either way, in 0.66 s on 2 cores instead of 1.27 s.

The format: the W3C PNG specification (chunks IHDR, IDAT and IEND), the zlib stream of RFC 1950 around the
deflate data of RFC 1951.
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["encode_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types by channel count: grey, grey + alpha, RGB, RGBA.
COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}
PAETH = 4
# Uncompressed bytes per band: large enough that restarting the compressor's dictionary costs nothing measurable.
BAND_BYTES = 2 << 20
# zlib's stream header for deflate with a 32-KB window at a middling level (CMF 0x78, FLG 0x5E: a multiple of 31).
ZLIB_HEADER = b"\x78\x5e"
# zlib level 3 instead of Pillow's default 6, which took about six times as long on a 12-megapixel photo for a file
# about 15 % smaller.
LEVEL = 3


def _paeth(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """The Paeth-filtered bytes of ``rows`` (n x width*channels uint8), ``above`` the row before them."""
    x = rows.astype(np.int16)
    b = np.vstack([above[None].astype(np.int16), x[:-1]])  # the byte above
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]  # the byte to the left (same channel)
    c = np.zeros_like(x)
    c[:, bpp:] = b[:, :-bpp]  # above and to the left
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    predicted = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    return ((x - predicted) & 0xFF).astype(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray, level: int = LEVEL, workers: int | None = None) -> bytes:
    """PNG bytes of an 8-bit image.

    Parameters
    ----------
    pixels : ndarray
        uint8, H x W (grey) or H x W x C with C 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
    level : int
        zlib compression level, 0 to 9.
    workers : int, optional
        Threads compressing bands of rows; the number of CPU cores (at most 8) when None.

    Raises
    ------
    ValueError
        If ``pixels`` is not such an array or is empty.
    """
    data = np.asarray(pixels)
    if data.ndim == 2:
        data = data[:, :, None]
    if data.dtype != np.uint8 or data.ndim != 3 or data.shape[2] not in COLOUR_TYPES or 0 in data.shape:
        raise ValueError(f"expected a non-empty uint8 H x W x 1-4 image, got {data.dtype} {data.shape}.")
    height, width, channels = data.shape
    flat = np.ascontiguousarray(data).reshape(height, width * channels)
    rows_per_band = max(1, BAND_BYTES // (width * channels + 1))
    starts = list(range(0, height, rows_per_band))

    def band(i: int) -> tuple[bytes, bytes]:
        top, bottom = starts[i], min(height, starts[i] + rows_per_band)
        above = flat[top - 1] if top > 0 else np.zeros(width * channels, np.uint8)
        raw = np.empty((bottom - top, width * channels + 1), np.uint8)
        raw[:, 0] = PAETH
        raw[:, 1:] = _paeth(flat[top:bottom], above, channels)
        raw_bytes = raw.tobytes()
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate: the pieces are joined below
        last = i == len(starts) - 1
        return raw_bytes, compressor.compress(raw_bytes) + compressor.flush(
            zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
        )

    threads = max(1, min(len(starts), workers or min(8, os.cpu_count() or 1)))
    with ThreadPoolExecutor(max_workers=threads) as pool:  # zlib and NumPy release Python's lock
        parts = list(pool.map(band, range(len(starts))))
    checksum = 1
    for raw_bytes, _ in parts:
        checksum = zlib.adler32(raw_bytes, checksum)
    stream = ZLIB_HEADER + b"".join(piece for _, piece in parts) + struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[channels], 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")
