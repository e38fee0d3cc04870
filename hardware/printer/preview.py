"""A PNG of what ESC/POS bytes would print, so staff can see a virtual printer's tickets.

It reads the bytes (not the ticket), so the preview shows what the printer was sent:
text with its alignment, bold, reverse and size, native QR codes redrawn from their stored
data and raster images as they are. One printer dot is one pixel (576 px on 80 mm paper).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw, ImageFont

from hardware.printer.stream import Code2D, Command, Newline, Raster, Text, tokens

CELL_W, CELL_H, LINE = 12, 24, 30  # font A cell and line pitch, in dots
MARGIN = 16
_QR_EC = {48: qrcode.constants.ERROR_CORRECT_L, 49: qrcode.constants.ERROR_CORRECT_M,
          50: qrcode.constants.ERROR_CORRECT_Q, 51: qrcode.constants.ERROR_CORRECT_H}
_INVERT = bytes(255 - b for b in range(256))


@lru_cache(maxsize=32)
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans Mono (fonts-dejavu-core), found by name; Pillow's own font otherwise."""
    try:
        return ImageFont.truetype("DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf",
                                  size)
    except OSError:
        return ImageFont.load_default(size)


@dataclass(frozen=True)
class _Style:
    align: int = 0
    bold: bool = False
    invert: bool = False
    width: int = 1
    height: int = 1


@dataclass
class _Page:
    """The rows drawn so far and the line being filled."""

    dots: int
    rows: list[Image.Image] = field(default_factory=list)
    line: list[tuple[str, _Style]] = field(default_factory=list)
    line_align: int = 0
    style: _Style = field(default_factory=_Style)
    qr: dict[str, int | bytes] = field(default_factory=dict)

    def text(self, text: str) -> None:
        if not self.line:
            self.line_align = self.style.align  # ESC a counts at the start of a line
        self.line.append((text, self.style))

    def feed(self, lines: int = 1) -> None:
        """Print the line buffer (or an empty line) ``lines`` times over."""
        for _ in range(max(lines, 1) if self.line else lines):
            self.rows.append(self._draw_line())
            self.line = []

    def _draw_line(self) -> Image.Image:
        height = max((s.height for _, s in self.line), default=1)
        row = Image.new("L", (self.dots, LINE * height), 255)
        pieces = [_segment(text, style) for text, style in self.line]
        used = sum(p.width for p in pieces)
        x = (self.dots - used) * self.line_align // 2 if used < self.dots else 0
        for piece in pieces:
            row.paste(piece, (x, row.height - piece.height - (LINE - CELL_H)))
            x += piece.width
        return row

    def image(self, image: Image.Image, align: int) -> None:
        if self.line:
            self.feed()
        row = Image.new("L", (self.dots, image.height), 255)
        row.paste(image, ((self.dots - image.width) * align // 2 if image.width < self.dots
                          else 0, 0))
        self.rows.append(row)

    def cut(self) -> None:
        row = Image.new("L", (self.dots, LINE), 255)
        draw = ImageDraw.Draw(row)
        for x in range(0, self.dots, 16):
            draw.line((x, LINE // 2, x + 8, LINE // 2), fill=128, width=2)
        self.rows.append(row)


def _segment(text: str, style: _Style) -> Image.Image:
    """``text`` in one style, on a grid of ``CELL_W`` x ``CELL_H`` dots times its size."""
    w, h = style.width, style.height
    fg, bg = (255, 0) if style.invert else (0, 255)
    piece = Image.new("L", (max(len(text), 1) * CELL_W * h, CELL_H * h), bg)
    ImageDraw.Draw(piece).text((0, 0), text, font=_font(style.bold, 20 * h), fill=fg)
    if w != h:
        piece = piece.resize((len(text) * CELL_W * w, CELL_H * h))
    return piece


def _qr_image(page: _Page) -> Image.Image:
    """The native QR the printer would draw from what GS ( k stored."""
    code = qrcode.QRCode(box_size=int(page.qr.get("size", 3)), border=0,
                         error_correction=_QR_EC.get(int(page.qr.get("ec", 48)),
                                                     qrcode.constants.ERROR_CORRECT_L))
    code.add_data(bytes(page.qr.get("data", b"")).decode("utf-8"))
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def _command(page: _Page, cmd: Command) -> None:
    code, arg = cmd.code, cmd.args[0] if cmd.args else 0
    s = page.style
    if code == b"\x1b@":
        page.style = _Style()
    elif code == b"\x1ba":
        page.style = replace(s, align=arg % 48 if arg >= 48 else arg)
    elif code == b"\x1bE":
        page.style = replace(s, bold=bool(arg & 1))
    elif code == b"\x1b!":
        page.style = replace(s, bold=bool(arg & 8), height=2 if arg & 16 else 1,
                             width=2 if arg & 32 else 1)
    elif code == b"\x1d!":
        page.style = replace(s, width=(arg >> 4) + 1, height=(arg & 7) + 1)
    elif code == b"\x1dB":
        page.style = replace(s, invert=bool(arg & 1))
    elif code == b"\x1bd":
        page.feed(arg)
    elif code == b"\x1dV":
        page.feed(0)
        page.cut()


def preview_png(data: bytes, codepage: str, paper_dots: int = 576) -> bytes:
    """A PNG (grey, ``paper_dots`` wide plus margins) of the ticket ``data`` prints."""
    page = _Page(paper_dots)
    for token in tokens(data, codepage):
        if isinstance(token, Text):
            page.text(token.text)
        elif isinstance(token, Newline):
            page.feed()
        elif isinstance(token, Command):
            _command(page, token)
        elif isinstance(token, Code2D) and token.cn == 49:
            if token.fn == 67 and token.data:
                page.qr["size"] = token.data[0]
            elif token.fn == 69 and token.data:
                page.qr["ec"] = token.data[0]
            elif token.fn == 80:
                page.qr["data"] = token.data
            elif token.fn == 81:
                page.image(_qr_image(page), page.style.align)
        elif isinstance(token, Raster):
            bits = Image.frombytes("1", (token.width_bytes * 8, token.height),
                                   token.data.translate(_INVERT))
            page.image(bits.convert("L"), page.style.align)
    if page.line:
        page.feed()
    height = sum(r.height for r in page.rows) + 2 * MARGIN
    sheet = Image.new("L", (paper_dots + 2 * MARGIN, height), 255)
    y = MARGIN
    for row in page.rows:
        sheet.paste(row, (MARGIN, y))
        y += row.height
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    return out.getvalue()
