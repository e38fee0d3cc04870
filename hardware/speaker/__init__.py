"""The speaker: a call becomes a phrase per language, synthesized offline to cached WAV files
that the displays play after a chime. Imports nothing of ours outside `hardware`."""

from hardware.speaker.announcer import Announcement, Announcer
from hardware.speaker.chime import CHIME_FILE, CHIME_SECONDS, ensure_chime, write_chime
from hardware.speaker.espeak import IDLE_STOP_SECONDS, EspeakWorker, SynthesisError
from hardware.speaker.local import find_player, play_local
from hardware.speaker.pacing import Pace
from hardware.speaker.phrases import LANGUAGES, TEMPLATES, Call, Templates, phrase
from hardware.speaker.planner import SECOND_LANGUAGE, Item, Rules, Speaker, decide, simulate
from hardware.speaker.tts import VOICES, Synthesizer, VirtualVoice, wav_seconds

__all__ = [
    "CHIME_FILE", "CHIME_SECONDS", "IDLE_STOP_SECONDS", "LANGUAGES", "SECOND_LANGUAGE",
    "TEMPLATES", "VOICES", "Announcement", "Announcer", "Call", "EspeakWorker", "Item", "Pace",
    "Rules", "Speaker", "SynthesisError", "Synthesizer", "Templates", "VirtualVoice", "decide",
    "ensure_chime", "find_player", "phrase", "play_local", "simulate", "wav_seconds",
    "write_chime",
]
