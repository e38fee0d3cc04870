"""Composition root: the Flask app, the HTTP API, the command line and the server."""

import os
import tempfile

__version__ = "0.1.0"

# python-escpos caches printer capabilities in a fresh temporary folder per process unless
# told where; one shared folder keeps /tmp from filling up on a box that runs for years.
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR",
                      os.path.join(tempfile.gettempdir(), f"mac-turnos-escpos-{os.getuid()}"))
os.makedirs(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"], mode=0o700, exist_ok=True)
