"""A ticket to ESC/POS bytes for an 80 mm (or 58 mm) roll, made with python-escpos.

The code page is forced once after ESC @ (python-escpos would otherwise switch code pages
per character, and cheap printers ignore some switches); text is first brought into that
code page so á é í ó ú ü ñ ¿ ¡ print as themselves and nothing prints as "?" silently.
"""

from __future__ import annotations

import copy
import textwrap
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from hardware.printer.captions import captions
from hardware.printer.codepage import fit_text
from hardware.printer.model import PrintableTicket
from hardware.printer.settings import PrinterSettings

if TYPE_CHECKING:
    from escpos.capabilities import BaseProfile

LABEL_SCALES = (4, 3, 2, 1)  # the biggest character size at which the label fits a line


@lru_cache(maxsize=32)
def _profile(name: str, paper_dots: int) -> BaseProfile:
    """The model's profile, with the paper width filled in when the database lacks it:
    python-escpos centres an image only when it knows the width (and prints a warning on
    stdout when it does not)."""
    from hardware.printer._escpos import get_profile

    profile = get_profile(name)
    width = profile.profile_data["media"]["width"]
    if not isinstance(width.get("pixels"), int):
        data = copy.deepcopy(profile.profile_data)
        data["media"]["width"]["pixels"] = paper_dots
        profile.profile_data = data
    return profile


def qr_module_dots(settings: PrinterSettings) -> int:
    """Dots per QR module: about 25 mm for a status URL on 80 mm, smaller on 58 mm."""
    return 6 if settings.width >= 42 else 4


def render(ticket: PrintableTicket, settings: PrinterSettings) -> bytes:
    """The ESC/POS bytes of ``ticket`` on the printer ``settings`` describes."""
    from hardware.printer._escpos import QR_ECLEVEL_M, Dummy  # on first use: see _escpos

    if ticket.issued_at.tzinfo is None:
        raise ValueError("issued_at must be an aware datetime (the centre's local time)")
    page = settings.codepage.upper()
    width = settings.width
    words = captions(ticket.language)
    p = Dummy(profile=settings.profile)
    p.profile = _profile(settings.profile, settings.paper_dots)
    if page not in p.profile.get_code_pages():
        raise ValueError(f"the {settings.profile} profile has no code page {page}")

    def lines(text: str, bar: bool = False) -> None:
        """Wrapped to the width; a bar (inverted) gets a space each side, all one length."""
        wrapped = textwrap.wrap(fit_text(text, page), width - 2 if bar else width) or [""]
        longest = max(map(len, wrapped))
        for line in wrapped:
            p.textln(f" {line.ljust(longest)} " if bar else line)

    def pair(caption: str, value: str) -> None:
        caption, value = fit_text(caption, page) + ":", fit_text(value, page)
        if len(caption) + 1 + len(value) <= width:
            p.textln(caption + " " * (width - len(caption) - len(value)) + value)
        else:
            lines(caption)
            p.textln(value.rjust(width))

    p.hw("INIT")
    p.charcode(page)
    p.set(align="center")
    lines(ticket.centre)
    p.set(bold=True)
    lines(ticket.entity)
    p.set(bold=False)
    p.ln()
    label = fit_text(ticket.label, page)
    scale = next((k for k in LABEL_SCALES if len(label) * k <= width), 1)
    p.set(custom_size=True, width=scale, height=scale)
    p.textln(label)
    p.set(custom_size=True, width=1, height=1)
    p.ln()
    lines(ticket.service)
    if ticket.category:
        p.set(bold=True, invert=True)
        lines(f"{words.preferential}: {ticket.category}", bar=True)
        p.set(bold=False, invert=False)
    p.ln()
    p.set(align="left")
    pair(words.date, ticket.issued_at.strftime("%d/%m/%Y %H:%M"))
    pair(words.people_ahead, str(ticket.people_ahead))
    starts = _starts_at(ticket)
    if starts is not None:  # before the módulos open: when, not how many minutes
        pair(words.starts_at, starts.strftime("%H:%M"))
    else:
        wait = (words.no_estimate if ticket.wait_minutes is None
                else f"~ {ticket.wait_minutes} min")
        pair(words.wait, wait)
    p.ln()
    p.set(align="center")
    native = bool(p.profile.supports("qrCode"))
    p.qr(ticket.status_url, ec=QR_ECLEVEL_M, size=qr_module_dots(settings), native=native,
         center=not native)
    if native:
        p.ln()
    lines(words.scan)
    if ticket.footer:
        p.ln()
        lines(ticket.footer)
    p.cut()
    return p.output


def _starts_at(ticket: PrintableTicket) -> datetime | None:
    """When attention starts, in the centre's local time, for a ticket issued before the
    módulos open (None otherwise, and for a ticket that does not carry it)."""
    starts = ticket.attention_starts_at
    return None if starts is None else starts.astimezone(ticket.issued_at.tzinfo)
