"""Reading a PNG's pixels with the standard library only, to check a screenshot is not blank where a chart
should be. Handles what Chromium writes: 8-bit RGB or RGBA, not interlaced, every row filter."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows), each row `width * channels` bytes (channels 3 or 4)."""
    data = path.read_bytes()
    if not data.startswith(_SIGNATURE):
        raise ValueError(f"{path} is not a PNG file")
    offset, idat, header = len(_SIGNATURE), b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA, non-interlaced PNGs are read here")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, channels)
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        up_left = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
            line[i] = (line[i] + predictor) & 0xFF


def rows_with_colour(path: Path, colour: tuple[int, int, int], *, tolerance: int = 24) -> list[int]:
    """The y of every row holding at least a few pixels of `colour` (a chart's bars or lines)."""
    width, _, rows = pixels(path)
    channels = len(rows[0]) // width if rows else 3
    found = []
    for y, row in enumerate(rows):
        hits = 0
        for x in range(0, len(row), channels):
            if all(abs(row[x + c] - colour[c]) <= tolerance for c in range(3)):
                hits += 1
                if hits >= 3:
                    found.append(y)
                    break
    return found


def colour_bands(path: Path, colour: tuple[int, int, int], *, gap: int = 40) -> list[int]:
    """The height in rows of each vertical band where `colour` appears (rows less than `gap` apart join):
    a chart's bars make a tall band, a legend swatch alone a short one."""
    bands: list[list[int]] = []
    for y in rows_with_colour(path, colour):
        if bands and y - bands[-1][-1] <= gap:
            bands[-1].append(y)
        else:
            bands.append([y])
    return [band[-1] - band[0] + 1 for band in bands]
