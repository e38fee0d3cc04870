"""Composition root: the Flask app, the HTTP API, the command line and the server."""

import os
import sys
import tempfile

__version__ = "0.1.0"

# python-escpos caches printer capabilities in a fresh temporary folder per process unless
# told where; one shared folder keeps /tmp from filling up on a box that runs for years.
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR",
                      os.path.join(tempfile.gettempdir(), f"mac-turnos-escpos-{os.getuid()}"))
os.makedirs(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"], mode=0o700, exist_ok=True)


def _sqlite_utils_without_numpy() -> None:
    """Import sqlite-utils with numpy and pandas hidden from it.

    sqlite-utils imports both when they are installed, only to map their number types to
    column types, which the appliance never stores; numpy alone costs the server 16 MiB of
    resident memory (measured). A ``None`` in ``sys.modules`` makes an import fail; it is
    taken out again, so code that really uses numpy still imports it as usual.
    """
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401 - the import is the point
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_sqlite_utils_without_numpy()
