"""python-escpos, imported on first use and without its side effect on logging.

Imported by the functions that need python-escpos, never by the package: the library (with
the Pillow, qrcode and YAML it loads) costs about 6 MiB of resident memory, which a box
without a configured printer should not pay, and half a second of start-up.

python-escpos calls ``logging.basicConfig()`` when imported: the root logger would get a
handler before the appliance configures its own, and the appliance's ``basicConfig`` would
then do nothing. The handler it adds is taken off again.
"""

from __future__ import annotations

import logging

_root = logging.getLogger()
_before = list(_root.handlers)

import escpos.printer  # noqa: E402,F401 - the import is the point

for _handler in _root.handlers[:]:
    if _handler not in _before:
        _root.removeHandler(_handler)

from escpos.capabilities import CAPABILITIES, BaseProfile, get_profile  # noqa: E402
from escpos.codepages import CodePages  # noqa: E402
from escpos.constants import QR_ECLEVEL_M, RT_STATUS_PAPER  # noqa: E402
from escpos.printer import Dummy, Usb  # noqa: E402

__all__ = ["CAPABILITIES", "QR_ECLEVEL_M", "RT_STATUS_PAPER", "BaseProfile", "CodePages",
           "Dummy", "Usb", "get_profile"]
