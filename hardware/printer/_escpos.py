"""python-escpos, imported once and first, without its side effect on logging.

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
