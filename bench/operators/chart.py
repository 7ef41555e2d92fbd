"""Horizontal bar charts as PNG files, drawn with zlib and struct only (no plotting library in the venv).

A chart is a title and panels; a panel is a title (with its unit) and bars; a bar is a label, a value and a
series (raykube, KubeRay, ceiling, ...), which picks its colour. Text is a 5x7 bitmap font (upper case).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
BLACK: Color = (30, 30, 30)
GREY: Color = (200, 200, 200)
SERIES_COLORS: dict[str, Color] = {
    "raykube": (33, 113, 181),
    "KubeRay": (230, 120, 30),
    "ceiling": (120, 120, 120),
    "minimum": (120, 120, 120),
}
OTHER_COLORS: tuple[Color, ...] = ((80, 160, 80), (160, 80, 160), (200, 60, 60))

# 5x7 glyphs, column by column, bit 0 the top row (the classic LCD font).
_FONT: dict[str, tuple[int, ...]] = {
    " ": (0, 0, 0, 0, 0), "!": (0, 0, 0x5F, 0, 0), "%": (0x23, 0x13, 0x08, 0x64, 0x62),
    "(": (0, 0x1C, 0x22, 0x41, 0), ")": (0, 0x41, 0x22, 0x1C, 0), "*": (0x14, 0x08, 0x3E, 0x08, 0x14),
    "+": (0x08, 0x08, 0x3E, 0x08, 0x08), ",": (0, 0x50, 0x30, 0, 0), "-": (0x08, 0x08, 0x08, 0x08, 0x08),
    ".": (0, 0x60, 0x60, 0, 0), "/": (0x20, 0x10, 0x08, 0x04, 0x02), ":": (0, 0x36, 0x36, 0, 0),
    "<": (0x08, 0x14, 0x22, 0x41, 0), "=": (0x14, 0x14, 0x14, 0x14, 0x14), ">": (0, 0x41, 0x22, 0x14, 0x08),
    "_": (0x40, 0x40, 0x40, 0x40, 0x40), "?": (0x02, 0x01, 0x51, 0x09, 0x06),
    "0": (0x3E, 0x51, 0x49, 0x45, 0x3E), "1": (0, 0x42, 0x7F, 0x40, 0), "2": (0x42, 0x61, 0x51, 0x49, 0x46),
    "3": (0x21, 0x41, 0x45, 0x4B, 0x31), "4": (0x18, 0x14, 0x12, 0x7F, 0x10), "5": (0x27, 0x45, 0x45, 0x45, 0x39),
    "6": (0x3C, 0x4A, 0x49, 0x49, 0x30), "7": (0x01, 0x71, 0x09, 0x05, 0x03), "8": (0x36, 0x49, 0x49, 0x49, 0x36),
    "9": (0x06, 0x49, 0x49, 0x29, 0x1E),
    "A": (0x7E, 0x11, 0x11, 0x11, 0x7E), "B": (0x7F, 0x49, 0x49, 0x49, 0x36), "C": (0x3E, 0x41, 0x41, 0x41, 0x22),
    "D": (0x7F, 0x41, 0x41, 0x22, 0x1C), "E": (0x7F, 0x49, 0x49, 0x49, 0x41), "F": (0x7F, 0x09, 0x09, 0x09, 0x01),
    "G": (0x3E, 0x41, 0x49, 0x49, 0x7A), "H": (0x7F, 0x08, 0x08, 0x08, 0x7F), "I": (0, 0x41, 0x7F, 0x41, 0),
    "J": (0x20, 0x40, 0x41, 0x3F, 0x01), "K": (0x7F, 0x08, 0x14, 0x22, 0x41), "L": (0x7F, 0x40, 0x40, 0x40, 0x40),
    "M": (0x7F, 0x02, 0x0C, 0x02, 0x7F), "N": (0x7F, 0x04, 0x08, 0x10, 0x7F), "O": (0x3E, 0x41, 0x41, 0x41, 0x3E),
    "P": (0x7F, 0x09, 0x09, 0x09, 0x06), "Q": (0x3E, 0x41, 0x51, 0x21, 0x5E), "R": (0x7F, 0x09, 0x19, 0x29, 0x46),
    "S": (0x46, 0x49, 0x49, 0x49, 0x31), "T": (0x01, 0x01, 0x7F, 0x01, 0x01), "U": (0x3F, 0x40, 0x40, 0x40, 0x3F),
    "V": (0x1F, 0x20, 0x40, 0x20, 0x1F), "W": (0x3F, 0x40, 0x38, 0x40, 0x3F), "X": (0x63, 0x14, 0x08, 0x14, 0x63),
    "Y": (0x07, 0x08, 0x70, 0x08, 0x07), "Z": (0x61, 0x51, 0x49, 0x45, 0x43),
}
_UNKNOWN = (0x7F, 0x41, 0x41, 0x41, 0x7F)

SCALE = 2  # font pixels per glyph pixel
CHAR_W = 6 * SCALE
LINE_H = 10 * SCALE
BAR_H = 8 * SCALE
MARGIN = 16
LABEL_CHARS = 30
BAR_AREA = 560
VALUE_CHARS = 10


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: not measured (drawn as "-")
    series: str


@dataclass(frozen=True)
class Panel:
    title: str
    bars: list[Bar] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    title: str
    panels: list[Panel] = field(default_factory=list)


class Canvas:
    """An RGB image in memory."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(WHITE) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
        if x1 <= x0 or y1 <= y0:
            return
        row = bytes(color) * (x1 - x0)
        for yy in range(y0, y1):
            start = (yy * self.width + x0) * 3
            self.pixels[start:start + len(row)] = row

    def text(self, x: int, y: int, text: str, color: Color = BLACK) -> None:
        for i, char in enumerate(text.upper()):
            columns = _FONT.get(char, _UNKNOWN)
            for cx, bits in enumerate(columns):
                for cy in range(7):
                    if bits >> cy & 1:
                        self.rect(x + i * CHAR_W + cx * SCALE, y + cy * SCALE, SCALE, SCALE, color)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3:(y + 1) * self.width * 3])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _color(series: str, seen: dict[str, Color]) -> Color:
    if series not in seen:
        seen[series] = SERIES_COLORS.get(series, OTHER_COLORS[len(seen) % len(OTHER_COLORS)])
    return seen[series]


def render(chart: Chart) -> bytes:
    """The chart as PNG bytes."""
    label_w = LABEL_CHARS * CHAR_W
    width = MARGIN * 2 + label_w + BAR_AREA + VALUE_CHARS * CHAR_W
    rows = sum(2 + len(p.bars) for p in chart.panels)
    height = MARGIN * 2 + LINE_H * 2 + rows * LINE_H + LINE_H
    canvas = Canvas(width, height)
    colors: dict[str, Color] = {}
    canvas.text(MARGIN, MARGIN, chart.title[: (width - 2 * MARGIN) // CHAR_W])
    y = MARGIN + LINE_H * 2
    for panel in chart.panels:
        canvas.text(MARGIN, y, panel.title[: (width - 2 * MARGIN) // CHAR_W])
        y += LINE_H
        top = max((b.value for b in panel.bars if b.value is not None and not math.isnan(b.value)), default=0.0)
        x0 = MARGIN + label_w
        canvas.rect(x0 - 1, y, 1, LINE_H * len(panel.bars), GREY)
        for bar in panel.bars:
            canvas.text(MARGIN, y + (LINE_H - 7 * SCALE) // 2, bar.label[:LABEL_CHARS - 1])
            length = 0
            if bar.value is not None and not math.isnan(bar.value) and top > 0:
                length = max(1, round(BAR_AREA * max(bar.value, 0.0) / top))
            canvas.rect(x0, y + (LINE_H - BAR_H) // 2, length, BAR_H, _color(bar.series, colors))
            canvas.text(x0 + length + CHAR_W // 2, y + (LINE_H - 7 * SCALE) // 2, _fmt(bar.value))
            y += LINE_H
        y += LINE_H
    legend_x = MARGIN
    for series, color in colors.items():
        canvas.rect(legend_x, y + 2, BAR_H, BAR_H, color)
        canvas.text(legend_x + BAR_H + CHAR_W // 2, y + 2, series)
        legend_x += BAR_H + CHAR_W * (len(series) + 3)
    return canvas.png()


def write(chart: Chart, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(chart))
    return path
