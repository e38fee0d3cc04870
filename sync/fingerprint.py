"""A box key's short form for people, the same on the box and on the central."""

from __future__ import annotations

import hashlib


def fingerprint(public: str) -> str:
    """``ab12:cd34:…``: the first 64 bits of SHA-256 of the public key's base64 text."""
    digest = hashlib.sha256(public.encode("ascii")).hexdigest()[:16]
    return ":".join(digest[i:i + 4] for i in range(0, 16, 4))
