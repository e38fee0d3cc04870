"""The speaker: number words, phrases, real espeak-ng WAVs, the cache, the chime and the
announcement queue. Synthesis is real (espeak-ng through pyttsx3 in the worker process)."""

from __future__ import annotations

import math
import os
import subprocess
import threading
import wave
from array import array
from pathlib import Path
from types import SimpleNamespace

import pytest

from hardware.speaker import (
    CHIME_FILE,
    CHIME_SECONDS,
    Announcement,
    Announcer,
    Call,
    EspeakWorker,
    SynthesisError,
    Synthesizer,
    ensure_chime,
    phrase,
    play_local,
    tts,
)
from hardware.speaker import espeak as espeak_module
from hardware.speaker.chime import write_tone
from hardware.speaker.numbers import english, quechua, spanish
from hardware.speaker.phrases import Templates, parse_label
from hardware.speaker.tts import cache_key
from tests.helpers import announce_backlog
from tests.programs import require_program
from tests.waiting import wait_until

# ------------------------------------------------------------------------- number words

SPANISH = {
    0: "cero", 1: "uno", 2: "dos", 9: "nueve", 10: "diez", 11: "once", 15: "quince",
    16: "dieciséis", 19: "diecinueve", 20: "veinte", 21: "veintiuno", 22: "veintidós",
    23: "veintitrés", 26: "veintiséis", 29: "veintinueve", 30: "treinta",
    31: "treinta y uno", 44: "cuarenta y cuatro", 99: "noventa y nueve", 100: "cien",
    101: "ciento uno", 110: "ciento diez", 121: "ciento veintiuno", 200: "doscientos",
    345: "trescientos cuarenta y cinco", 500: "quinientos", 700: "setecientos",
    900: "novecientos", 999: "novecientos noventa y nueve", 1000: "mil", 1001: "mil uno",
    1021: "mil veintiuno", 1100: "mil cien", 1999: "mil novecientos noventa y nueve",
    2000: "dos mil", 2023: "dos mil veintitrés", 5015: "cinco mil quince",
    9999: "nueve mil novecientos noventa y nueve", 21000: "veintiún mil",
    31000: "treinta y un mil", 100000: "cien mil", 101000: "ciento un mil",
}

QUECHUA = {
    1: "huk", 2: "iskay", 3: "kimsa", 4: "tawa", 5: "pichqa", 6: "suqta", 7: "qanchis",
    8: "pusaq", 9: "isqun", 10: "chunka", 11: "chunka hukniyuq", 12: "chunka iskayniyuq",
    13: "chunka kimsayuq", 14: "chunka tawayuq", 15: "chunka pichqayuq",
    16: "chunka suqtayuq", 17: "chunka qanchisniyuq", 18: "chunka pusaqniyuq",
    19: "chunka isqunniyuq", 20: "iskay chunka", 23: "iskay chunka kimsayuq",
    30: "kimsa chunka", 99: "isqun chunka isqunniyuq", 100: "pachak",
    105: "pachak pichqayuq", 123: "pachak iskay chunka kimsayuq", 200: "iskay pachak",
    1000: "waranqa", 2023: "iskay waranqa iskay chunka kimsayuq",
}

ENGLISH = {
    0: "zero", 7: "seven", 13: "thirteen", 20: "twenty", 23: "twenty-three", 40: "forty",
    100: "one hundred", 105: "one hundred and five", 999: "nine hundred and ninety-nine",
    1000: "one thousand", 1100: "one thousand one hundred", 2023: "two thousand and twenty-three",
}


@pytest.mark.parametrize(("number", "words"), sorted(SPANISH.items()))
def test_spanish_number_words_match_the_known_cases(number, words):
    assert spanish(number) == words


@pytest.mark.parametrize(("number", "words"), sorted(QUECHUA.items()))
def test_quechua_number_words_follow_the_grammar(number, words):
    assert quechua(number) == words


@pytest.mark.parametrize(("number", "words"), sorted(ENGLISH.items()))
def test_english_number_words_match_the_known_cases(number, words):
    assert english(number) == words


@pytest.mark.parametrize("words_of", [spanish, quechua, english])
def test_every_number_up_to_9999_has_its_own_well_formed_words(words_of):
    said = [words_of(n) for n in range(10000)]
    assert len(set(said)) == 10000
    assert all(text == " ".join(text.split()) and not any(c.isdigit() for c in text)
               for text in said)


@pytest.mark.parametrize("words_of", [spanish, quechua, english])
@pytest.mark.parametrize("bad", [-1, 1_000_000, 2.5, True])
def test_numbers_outside_the_range_are_refused(words_of, bad):
    with pytest.raises(ValueError):
        words_of(bad)


# ------------------------------------------------------------------------------ phrases

def test_a_call_is_said_in_spanish_with_spelled_letters_and_the_whole_number():
    assert phrase(Call("RN-023", "12"), "es") == "Turno erre, ene, veintitrés, módulo doce."
    assert phrase(Call("BN-105", "3"), "es") == "Turno be, ene, ciento cinco, módulo tres."
    assert phrase(Call("SN-1000", "21"), "es") == "Turno ese, ene, mil, módulo veintiuno."
    assert phrase(Call("RN-021", "1"), "es") == "Turno erre, ene, veintiuno, módulo uno."


def test_a_call_is_said_in_quechua_with_quechua_numbers():
    assert phrase(Call("RN-023", "12"), "qu") == \
        "Turnuyki erre, ene, iskay chunka kimsayuq, chunka iskayniyuq módulo-man hamuy."
    assert phrase(Call("BN-105", "3"), "qu") == \
        "Turnuyki be, ene, pachak pichqayuq, kimsa módulo-man hamuy."


def test_a_call_is_said_in_english_with_letters_the_voice_cannot_mistake_for_words():
    assert phrase(Call("RN-023", "12"), "en") == "Ticket R-N, twenty-three, counter twelve."
    assert phrase(Call("A-101", "4"), "en") == "Ticket A, one hundred and one, counter four."


def test_a_recall_says_so_in_every_language():
    call = Call("RN-023", "12", recall=True)
    assert phrase(call, "es").startswith("Nuevo llamado. Turno erre")
    assert phrase(call, "qu").startswith("Yapamanta. Turnuyki erre")
    assert phrase(call, "en").startswith("Calling again. Ticket R-N")


def test_zero_padding_is_not_read_but_a_zero_number_is():
    assert parse_label("RN-007") == ("RN", 7)
    assert phrase(Call("RN-000", "2"), "es") == "Turno erre, ene, cero, módulo dos."


def test_a_modulo_with_a_letter_has_the_letter_spelled():
    assert phrase(Call("RN-001", "12A"), "es") == "Turno erre, ene, uno, módulo doce a."


@pytest.mark.parametrize("label", ["RN023", "RN-", "-023", "ABCD-001", "R1-001", "", "RN-0x1"])
def test_a_label_that_cannot_be_read_aloud_is_refused(label):
    with pytest.raises(ValueError):
        phrase(Call(label, "1"), "es")


def test_templates_can_be_replaced_without_touching_code():
    mine = {"qu": Templates(call="{ticket} {counter} hamuy.", recall="Yapa {ticket}.")}
    assert phrase(Call("RN-023", "12"), "qu", mine) == \
        "erre, ene, iskay chunka kimsayuq, chunka iskayniyuq hamuy."
    assert phrase(Call("RN-023", "12"), "es", mine).startswith("Turno erre")


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError):
        phrase(Call("RN-023", "12"), "fr")


# ------------------------------------------------------------------------- real audio

def wav_stats(path: Path) -> tuple[float, int, float, tuple[int, int, int]]:
    """Duration, peak and RMS of a 16-bit mono WAV, and its (channels, width, rate)."""
    with wave.open(str(path), "rb") as wav:
        params = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        samples = array("h", wav.readframes(wav.getnframes()))
        seconds = wav.getnframes() / wav.getframerate()
    peak = max(abs(s) for s in samples)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    return seconds, peak, rms, params


def sox_seconds(path: Path) -> float:
    sox = require_program("sox")
    out = subprocess.run([sox, "--i", "-D", str(path)], capture_output=True, text=True,
                         check=True)
    return float(out.stdout)


@pytest.fixture(scope="module")
def espeak():
    worker = EspeakWorker(timeout=20)
    yield worker
    worker.close()


@pytest.fixture
def synthesizer(tmp_path, espeak):
    return Synthesizer(tmp_path / "voice", backend=espeak)


@pytest.mark.parametrize("language", ["es", "qu", "en"])
def test_a_synthesized_phrase_is_a_valid_wav_over_a_second_long_and_not_silent(
        synthesizer, language):
    name = synthesizer.synthesize(phrase(Call("RN-023", "12"), language), language)
    path = synthesizer.cache_dir / name
    seconds, peak, rms, params = wav_stats(path)
    assert params == (1, 2, 22050)
    assert seconds >= 1.0
    assert peak > 5000 and rms > 500
    assert sox_seconds(path) == pytest.approx(seconds, abs=0.01)


def test_the_chime_is_a_short_audible_ding_dong_written_once(tmp_path):
    assert ensure_chime(tmp_path) == CHIME_FILE
    path = tmp_path / CHIME_FILE
    seconds, peak, rms, params = wav_stats(path)
    assert params == (1, 2, 22050)
    assert 0.5 <= seconds <= 0.9  # short: in a burst every tenth of a second counts
    assert 5000 < peak < 32767 and rms > 500  # audible, never clipped
    before = path.stat().st_mtime_ns
    ensure_chime(tmp_path)
    assert path.stat().st_mtime_ns == before
    assert sox_seconds(path) == pytest.approx(seconds, abs=0.01)


def test_an_older_longer_chime_in_the_cache_is_replaced_by_the_short_one(tmp_path):
    write_tone(tmp_path / CHIME_FILE, [(440.0, 1.2)])
    ensure_chime(tmp_path)
    assert wav_stats(tmp_path / CHIME_FILE)[0] == pytest.approx(CHIME_SECONDS, abs=0.01)


def test_a_repeated_phrase_comes_from_the_cache_without_synthesizing_again(synthesizer):
    text = phrase(Call("RN-024", "7"), "es")
    first = synthesizer.synthesize(text, "es")
    written = (synthesizer.cache_dir / first).stat().st_mtime_ns
    second = synthesizer.synthesize(text, "es")
    assert second == first
    assert (synthesizer.synthesized, synthesizer.cache_hits) == (1, 1)
    assert (synthesizer.cache_dir / first).stat().st_mtime_ns >= written
    other = synthesizer.synthesize(text, "qu")  # another voice, another file
    assert other != first and synthesizer.synthesized == 2


def test_a_change_of_rate_or_voice_never_serves_the_old_file(tmp_path, espeak):
    text = "Turno erre, ene, uno, módulo uno."
    assert cache_key("es", "es-419", 150, text) != cache_key("es", "es-419", 170, text)
    assert cache_key("es", "es-419", 150, text) != cache_key("es", "es", 150, text)
    slow = Synthesizer(tmp_path, rate=120, backend=espeak).synthesize(text, "es")
    fast = Synthesizer(tmp_path, rate=220, backend=espeak).synthesize(text, "es")
    assert slow != fast
    assert wav_stats(tmp_path / slow)[0] > wav_stats(tmp_path / fast)[0]


def test_the_cache_keeps_at_most_max_files_and_drops_the_least_recently_used(tmp_path, espeak):
    synthesizer = Synthesizer(tmp_path, max_files=16, backend=espeak)
    ensure_chime(tmp_path)
    names = [synthesizer.synthesize(f"Turno {spanish(n)}.", "es") for n in range(16)]
    assert synthesizer.synthesize("Turno cero.", "es") == names[0]  # said again: just used
    newest = synthesizer.synthesize("Turno cien.", "es")
    left = {p.name for p in tmp_path.glob("*.wav")}
    assert len(left - {CHIME_FILE}) == 16
    assert CHIME_FILE in left and newest in left and names[0] in left
    assert names[1] not in left


def test_a_phrase_duration_is_read_from_its_file_once(tmp_path, espeak, monkeypatch):
    synthesizer = Synthesizer(tmp_path, backend=espeak)
    name = synthesizer.synthesize("Turno siete.", "es")
    reads: list[object] = []
    real = tts.wav_seconds
    monkeypatch.setattr(tts, "wav_seconds", lambda path: reads.append(path) or real(path))
    assert synthesizer.seconds(name) == pytest.approx(real(tmp_path / name))
    assert synthesizer.seconds(name) == synthesizer.seconds(name)
    assert reads == []  # known since it was synthesized
    restarted = Synthesizer(tmp_path, backend=espeak)
    assert restarted.seconds(name) == pytest.approx(real(tmp_path / name))
    assert restarted.seconds(name) > 0.5
    assert len(reads) == 1  # a phrase found on disk is read once, then remembered


def test_a_restarted_cache_keeps_the_order_of_use_it_had(tmp_path, espeak):
    first = Synthesizer(tmp_path, max_files=16, backend=espeak)
    names = [first.synthesize(f"Turno {spanish(n)}.", "es") for n in range(16)]
    first.synthesize("Turno cero.", "es")  # names[0] is now the most recently used
    again = Synthesizer(tmp_path, max_files=16, backend=espeak)
    again.synthesize("Turno cien.", "es")
    left = {p.name for p in tmp_path.glob("*.wav")}
    assert names[0] in left and names[1] not in left and len(left) == 16


def test_an_unknown_voice_is_an_error_and_the_worker_goes_on(tmp_path, espeak):
    broken = Synthesizer(tmp_path, voices={"es": "no-such-voice"}, backend=espeak)
    with pytest.raises(SynthesisError):
        broken.synthesize("Turno uno.", "es")
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob("*.part"))
    name = Synthesizer(tmp_path, backend=espeak).synthesize("Turno uno.", "es")
    assert wav_stats(tmp_path / name)[0] >= 1.0


def test_a_dead_speech_worker_is_replaced_on_the_next_phrase(tmp_path):
    worker = EspeakWorker(timeout=20)
    synthesizer = Synthesizer(tmp_path, backend=worker)
    try:
        synthesizer.synthesize("Turno uno.", "es")
        worker._process.kill()  # what a crash in libespeak-ng would look like
        worker._process.wait()
        name = synthesizer.synthesize("Turno dos.", "es")
        assert wav_stats(tmp_path / name)[0] >= 1.0
    finally:
        worker.close()


def test_the_speech_child_runs_at_a_lower_cpu_priority_than_the_server(tmp_path):
    worker = EspeakWorker(timeout=20)
    try:
        Synthesizer(tmp_path, backend=worker).synthesize("Turno uno.", "es")
        assert worker._process is not None
        stat = Path(f"/proc/{worker._process.pid}/stat").read_text()
        child_nice = int(stat.rpartition(")")[2].split()[16])  # field 19 of proc(5)
        assert child_nice >= os.nice(0) + 10
    finally:
        worker.close()


def child_pids() -> set[int]:
    """The processes this test process has started and not yet reaped."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except FileNotFoundError:
            pass  # a thread that ended since the listing started no process
    return found


def test_an_idle_speech_worker_stops_its_child_and_the_next_phrase_is_still_spoken(
        tmp_path: Path) -> None:
    worker = EspeakWorker(timeout=20, idle_stop=0.5)
    synthesizer = Synthesizer(tmp_path, backend=worker)
    try:
        synthesizer.synthesize("Turno uno.", "es")
        assert worker._process is not None
        first = worker._process.pid
        assert worker.running and first in child_pids()
        # stopped and reaped (not left as a zombie) after the idle limit
        wait_until(lambda: not worker.running and first not in child_pids(),
                   what="the idle child stopped and reaped")
        name = synthesizer.synthesize("Turno erre, ene, veintitrés, módulo doce.", "es")
        seconds, peak, rms, params = wav_stats(tmp_path / name)
        assert params == (1, 2, 22050) and seconds >= 1.0
        assert peak > 5000 and rms > 500
        assert worker.started == 2
    finally:
        worker.close()
    assert not worker.running


def test_a_speech_worker_in_use_keeps_its_one_child(tmp_path: Path, monkeypatch) -> None:
    # The worker's clock is the test's: a phrase every 0.15 s against an idle limit of
    # 0.2 s, however slowly this machine synthesizes them; after each phrase the idle
    # timer goes off once and must find the child in use.
    now = [1000.0]
    monkeypatch.setattr(espeak_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    worker = EspeakWorker(timeout=20, idle_stop=0.2)
    synthesizer = Synthesizer(tmp_path, backend=worker)
    timers_before = {t for t in threading.enumerate() if t.name == "speech-idle"}
    try:
        for n in range(6):
            synthesizer.synthesize(f"Turno {spanish(n + 1)}.", "es")
            now[0] += 0.15
            armed = worker._idle_timer
            assert armed is not None
            wait_until(lambda armed=armed: worker._idle_timer is not armed,
                       what="the idle timer went off")
            armed.join(30)  # the timer that went off has re-armed the next and ended
        assert worker.running and worker.started == 1
        timers = {t for t in threading.enumerate() if t.name == "speech-idle"} - timers_before
        assert len(timers) <= 1  # one timer for the idle spell, not one per phrase
        now[0] += 0.1  # 0.25 s since the last phrase: now it is idle
        wait_until(lambda: not worker.running, what="the idle child stopped")
    finally:
        worker.close()


def test_a_closed_speech_worker_leaves_no_child_and_no_idle_timer(tmp_path: Path) -> None:
    worker = EspeakWorker(timeout=20, idle_stop=30.0)
    Synthesizer(tmp_path, backend=worker).synthesize("Turno uno.", "es")
    pid = worker._process.pid if worker._process else 0
    timer = worker._idle_timer
    assert timer is not None and timer.is_alive()
    worker.close()
    assert not worker.running and pid not in child_pids()
    wait_until(lambda: not timer.is_alive(), what="the idle timer ended")


# -------------------------------------------------------------------------- announcer

CALLS = [Call("RN-023", "12"), Call("BN-105", "3"), Call("RN-024", "12", recall=True),
         Call("SN-1000", "21"), Call("BN-106", "4")]


@pytest.fixture
def announced(synthesizer):
    """An announcer for es + qu whose announcements land in a list, stopped afterwards."""
    ready: list[Announcement] = []
    announcer = Announcer(synthesizer, ["es", "qu"], ready.append)
    announcer.start()
    yield announcer, ready
    announcer.stop()


def expected_files(synthesizer, call):
    return tuple(cache_key(language, synthesizer.voice_for(language), synthesizer.rate,
                           phrase(call, language)) for language in ("es", "qu"))


def test_announcements_come_out_in_the_order_calls_went_in_each_with_its_own_files(
        synthesizer, announced):
    announcer, ready = announced
    seqs = [announcer.submit(call) for call in CALLS]
    assert announcer.wait_idle(30)
    assert [a.seq for a in ready] == seqs == sorted(seqs)
    assert [a.call for a in ready] == CALLS
    for announcement in ready:
        assert announcement.ok
        assert announcement.languages == ("es", "qu")
        assert announcement.files == expected_files(synthesizer, announcement.call)
        assert all((synthesizer.cache_dir / f).exists() for f in announcement.files)
        assert announcement.seconds >= 2.0
    assert announcer.chime == CHIME_FILE and (synthesizer.cache_dir / CHIME_FILE).exists()


def test_a_failing_announcement_is_reported_and_the_next_one_goes_on(synthesizer, announced):
    announcer, ready = announced
    calls = [CALLS[0], Call("R?-01", "12"), CALLS[1]]
    for call in calls:
        announcer.submit(call)
    assert announcer.wait_idle(30)
    assert [a.call for a in ready] == calls
    assert [a.ok for a in ready] == [True, False, True]
    assert ready[1].files == () and "not a ticket label" in ready[1].error
    assert ready[2].files == expected_files(synthesizer, CALLS[1])


def test_a_language_that_fails_to_synthesize_leaves_the_others_playable(tmp_path, espeak):
    synthesizer = Synthesizer(tmp_path, voices={"qu": "no-such-voice"}, backend=espeak)
    ready: list[Announcement] = []
    announcer = Announcer(synthesizer, ["es", "qu"], ready.append)
    announcer.start()
    try:
        announcer.submit(CALLS[0])
        assert announcer.wait_idle(30)
    finally:
        announcer.stop()
    (announcement,) = ready
    assert announcement.languages == ("es",) and len(announcement.files) == 1
    assert announcement.error.startswith("qu: ")


def test_a_listener_that_raises_does_not_stop_the_queue(synthesizer):
    seen: list[int] = []

    def fragile(announcement: Announcement) -> None:
        seen.append(announcement.seq)
        if announcement.seq == 1:
            raise RuntimeError("display feed hiccup")

    announcer = Announcer(synthesizer, ["es"], fragile)
    announcer.start()
    try:
        for call in CALLS[:3]:
            announcer.submit(call)
        assert announcer.wait_idle(30)
    finally:
        announcer.stop()
    assert seen == [1, 2, 3]


def test_calls_submitted_from_many_threads_get_distinct_numbers_in_queue_order(synthesizer):
    ready: list[Announcement] = []
    announcer = Announcer(synthesizer, ["es"], ready.append)
    submitted: list[tuple[int, Call]] = []
    lock = threading.Lock()

    def submit(n: int) -> None:
        call = Call(f"RN-{n:03d}", "1")
        with lock:  # record in the order the announcer numbered them
            submitted.append((announcer.submit(call), call))

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    announcer.start()
    try:
        assert announcer.wait_idle(30)
    finally:
        announcer.stop()
    assert [(a.seq, a.call) for a in ready] == sorted(submitted, key=lambda item: item[0])


def test_a_backlogged_announcer_skips_a_call_superseded_at_its_modulo_or_for_its_ticket(
        synthesizer):
    """Calls queued behind a slow voice: the earlier call of a módulo that called again, and
    a ticket's call followed by its recall, are not synthesized (no TV would say them); the
    others are, in order."""
    ready: list[Announcement] = []
    announcer = Announcer(synthesizer, ["es"], ready.append, supersede=True)
    calls = [Call("RN-023", "12"), Call("BN-105", "3"), Call("RN-024", "12"),
             Call("BN-105", "3", recall=True), Call("SN-001", "21")]
    announce_backlog(announcer, calls)  # all waiting before the worker takes the first
    assert [a.call for a in ready] == calls
    assert [a.skipped for a in ready] == ["superseded", "superseded", None, None, None]
    assert ready[0].files == () and ready[1].files == ()
    assert ready[2].files == expected_files(synthesizer, calls[2])[:1]
    assert announcer.skipped == 2 and synthesizer.synthesized == 3


def test_a_call_that_waited_longer_than_the_voice_bound_is_skipped(synthesizer):
    now = [100.0]
    ready: list[Announcement] = []
    announcer = Announcer(synthesizer, ["es"], ready.append, max_age=30.0,
                          clock=lambda: now[0])
    announcer.submit(Call("RN-023", "12"))
    now[0] += 20.0
    announcer.submit(Call("BN-105", "3"))
    now[0] += 11.0  # the first has waited 31 s, the second 11 s
    announcer.start()
    try:
        assert announcer.wait_idle(30)
    finally:
        announcer.stop()
    assert [(a.call.label, a.skipped) for a in ready] == [("RN-023", "expired"),
                                                          ("BN-105", None)]
    assert synthesizer.synthesized == 1


def test_without_the_options_a_backlog_is_announced_whole(synthesizer):
    ready: list[Announcement] = []
    announcer = Announcer(synthesizer, ["es"], ready.append)
    calls = [Call("RN-023", "12"), Call("RN-024", "12"), Call("RN-024", "12", recall=True)]
    announce_backlog(announcer, calls)
    assert [a.skipped for a in ready] == [None, None, None] and all(a.ok for a in ready)


def test_an_announcer_refuses_languages_it_cannot_speak(synthesizer):
    with pytest.raises(ValueError):
        Announcer(synthesizer, ["es", "fr"], print)
    with pytest.raises(ValueError):
        Announcer(synthesizer, [], print)


# ------------------------------------------------------------------------------ local

def test_local_playback_reports_false_when_there_is_nothing_to_play_it_with(tmp_path,
                                                                           monkeypatch):
    ensure_chime(tmp_path)
    assert play_local([]) is False
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no aplay on this PATH
    assert play_local([tmp_path / CHIME_FILE]) is False


def test_the_same_phrase_always_gives_the_whole_audio_never_a_clipped_end(tmp_path, espeak):
    """The end of a phrase (the módulo number) must never be cut: twelve syntheses of the
    same text last exactly as long as each other."""
    durations = set()
    for n in range(12):
        path = tmp_path / f"{n}.wav"
        espeak.synthesize("Turno dos.", "es-419", 150, str(path))
        durations.add(round(wav_stats(path)[0], 2))
    assert len(durations) == 1 and durations.pop() >= 1.0
