"""Playing announcements on the box's own audio output, for a centre whose speakers hang on
the server rather than on the TVs. Optional: without ALSA's `aplay` it reports False."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence

log = logging.getLogger(__name__)


def find_player() -> str | None:
    """The path of `aplay`, or None when the box has no ALSA player."""
    return shutil.which("aplay")


def play_local(files: Sequence[str | os.PathLike[str]], timeout: float = 60.0) -> bool:
    """Play WAV files one after another and wait; False if nothing or not all could play.

    Blocking: call it from the announcer's worker (or another worker), which is also what
    keeps two announcements from overlapping on the speaker.
    """
    player = find_player()
    if player is None or not files:
        return False
    try:
        result = subprocess.run([player, "-q", *(os.fspath(f) for f in files)], timeout=timeout,
                                stdin=subprocess.DEVNULL, capture_output=True, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("local playback failed: %s", error)
        return False
    if result.returncode != 0:
        log.warning("aplay: %s", result.stderr.decode(errors="replace").strip())
    return result.returncode == 0
