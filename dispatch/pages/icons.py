"""Home-screen icons drawn here (no image files): a neutral note pad, nothing police-like."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

BACKGROUND = (38, 50, 56)
PAPER = (236, 239, 241)
LINE = (120, 144, 156)


def _pixel(x: int, y: int, size: int) -> tuple[int, int, int]:
    margin, pad = size // 5, size // 10
    left, right, top, bottom = margin, size - margin, margin - pad // 2, size - margin + pad // 2
    if not (left <= x < right and top <= y < bottom):
        return BACKGROUND
    row = (y - top) * 8 // (bottom - top)
    inner = left + pad <= x < right - pad
    on_line = row in (2, 4, 6) and (y - top) * 8 % (bottom - top) < (bottom - top) * 3 // 8
    return LINE if inner and on_line else PAPER


@lru_cache(maxsize=4)
def icon_png(size: int) -> bytes:
    """A square RGB PNG of `size` pixels."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(_pixel(x, y, size)) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
