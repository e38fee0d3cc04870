"""Which box may send for a centre: the one whose key signed first after the centre's token
was issued (``sync/identity.py`` on the box).

A batch signed by another key, with the right token, is a copied configuration: refused
(403 ``box_mismatch``), nothing of it stored, and kept on the centre's row (the refused key,
when, how many times) so the dashboard shows it. A new token (``centre add`` again) frees
the binding, for a box replaced without its backup. A batch with no signature is taken only
while no key is bound (a box of an earlier version).
"""

from __future__ import annotations

import base64
import binascii

from sync.central.db import Database, now_iso
from sync.fingerprint import fingerprint


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _verified(public: str, signature: str, body: bytes) -> bool:
    # Imported here: the box's command line holds the central's commands too, and a box
    # loads cryptography only when its uplink is enabled.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True))
        key.verify(base64.b64decode(signature, validate=True), body)
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return True


def admit(db: Database, centre: str, public: str | None, signature: str | None,
          body: bytes) -> None:
    """Let the batch in, binding the centre to its key the first time; or raise Refused."""
    bound = db.conn().query("SELECT box_key FROM centres WHERE code = ?",
                            (centre,))[0]["box_key"]
    if not public:
        if bound:
            raise Refused(403, "box_key_required", "Este centro solo acepta envíos firmados "
                                                   "por su equipo.")
        return
    if not signature or not _verified(public, signature, body):
        raise Refused(401, "bad_signature", "La firma del equipo no corresponde al envío.")
    if bound == public:
        return
    with db.transaction() as tx:
        # Bound only if still unbound, in one statement: two boxes binding at once on
        # PostgreSQL both read NULL, but the second's UPDATE waits for the first's row lock
        # and then finds the key set. (RETURNING gives the rows it bound: SQLite 3.35+.)
        if tx.query("UPDATE centres SET box_key = ?, box_bound_at = ? WHERE code = ? "
                    "AND box_key IS NULL RETURNING code", (public, now_iso(), centre)):
            return
        row = tx.query("SELECT box_key FROM centres WHERE code = ?", (centre,))[0]
        if row["box_key"] == public:  # bound to this box by a batch of its own meanwhile
            return
        tx.execute("UPDATE centres SET refused_box_key = ?, refused_box_at = ?, "
                   "refused_box_count = refused_box_count + 1 WHERE code = ?",
                   (public, now_iso(), centre))
    raise Refused(403, "box_mismatch",
                  f"Otro equipo (huella {fingerprint(public)}) envía con el token de este "
                  f"centro, que pertenece al equipo {fingerprint(row['box_key'])}. Si el equipo "
                  f"fue reemplazado, registre el centro de nuevo para darle otro token.")
