"""The box's own identity: an Ed25519 key pair created once, at the first start, in the
state folder; each batch the uplink sends is signed with it.

The centre's token alone says which centre a batch is for, and a copied configuration would
let another box send as that centre. The central binds each centre to the first box key
that signs for it (``sync/central/boxes.py``) and refuses, and shows, any other: a clone
with the token but not the key is refused. The private key never leaves the box; backups
carry it (a box restored on a new card is the same box). A box replaced without its backup
gets a new token (``central centre add``), which lets the central bind the new key.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config import private_files
from sync.fingerprint import fingerprint
from sync.service import KEY_NAME


class BoxIdentity:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        self.public = base64.b64encode(raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """The public key's short form for people (both sides show the same)."""
        return fingerprint(self.public)

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self._key.sign(body)).decode("ascii")

    def headers(self, body: bytes) -> dict[str, str]:
        return {"X-Box-Key": self.public, "X-Box-Signature": self.sign(body)}


def load_identity(state_dir: Path) -> BoxIdentity:
    """The box's key from the state folder, created there (0600) the first time."""
    path = state_dir / KEY_NAME
    pem = private_files.create_once(path, lambda: Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} no es una clave Ed25519 del equipo")
    return BoxIdentity(key)
