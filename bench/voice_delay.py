"""How far behind the screen the voice is over a busy day: 60 módulos, about 10 minutes per
citizen, all of them calling within seconds at the 08:30 opening, some recalls. The day's
calls go through the TVs' planner (``hardware.speaker.planner``, the same decisions as
``display/static/voiceplan.js``) with the real lengths of the espeak voice's clips (chime,
Spanish, Quechua), measured once per run on a sample of phrases. Figures: the delay from a
call to the start of its announcement (p50, p99, max over the day and over the first hour),
the calls dropped (too late, or superseded at their módulo) and merged (a recall said with
its call), and the share of calls said in Quechua too.

    .venv/bin/python -m bench.voice_delay [--runs 3] [--bound 30]
"""

from __future__ import annotations

import argparse
import random
import tempfile

from bench.common import Figure, arguments, cli, command, percentile, progress
from hardware.speaker import CHIME_SECONDS, Call, Item, Rules, Synthesizer, phrase, simulate

MODULOS = 60
OPEN_SECONDS = 8.5 * 3600  # 08:30 to 17:00
PREFIXES = ("RN", "BN", "ST", "ES", "MG")


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=3)
    p.add_argument("--bound", type=float, default=30.0)
    p.add_argument("--sample", type=int, default=80, help="phrases measured per language")
    return p


def clip_lengths(count: int) -> list[tuple[float, float, float]]:
    """(chime, Spanish, Quechua) seconds of ``count`` calls and recalls, synthesized by espeak."""
    rng = random.Random(7)
    lengths = []
    with tempfile.TemporaryDirectory() as cache, Synthesizer(cache) as synthesizer:
        for n in range(count):
            call = Call(f"{rng.choice(PREFIXES)}-{rng.randint(1, 400):03d}",
                        str(rng.randint(1, MODULOS)), recall=n % 10 == 9)
            es, qu = (synthesizer.seconds(synthesizer.synthesize(phrase(call, lang), lang))
                      for lang in ("es", "qu"))
            lengths.append((CHIME_SECONDS, es, qu))
    return lengths


def day_calls(seed: int, lengths: list[tuple[float, float, float]]) -> list[Item]:
    """The day's calls: each módulo's first call within 5 s of opening, then one every
    6 to 14 minutes; one call in 12 is recalled 20 to 90 s later."""
    rng = random.Random(seed)
    made: list[tuple[float, str, str]] = []
    for modulo in range(1, MODULOS + 1):
        t, n = rng.uniform(0, 5), 0
        while t < OPEN_SECONDS:
            n += 1
            ticket = f"{modulo}-{n}"
            made.append((t, ticket, str(modulo)))
            if rng.random() < 1 / 12:
                made.append((t + rng.uniform(20, 90), ticket, str(modulo)))
            t += rng.uniform(6, 14) * 60
    made.sort()
    return [Item(seq, ticket, modulo, t, lengths[seq % len(lengths)])
            for seq, (t, ticket, modulo) in enumerate(made, start=1)]


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("voice_delay", argv)
    bound = args.bound
    fig = {
        "p50": Figure("voice_delay.p50", "Call to its announcement over a day (p50)", "s",
                      None, cmd),
        "p99": Figure("voice_delay.p99", "Call to its announcement over a day (p99)", "s",
                      ("<=", bound), cmd),
        "max": Figure("voice_delay.max", "Call to its announcement over a day (max)", "s",
                      ("<=", bound), cmd),
        "first": Figure("voice_delay.first_hour.p99",
                        "Call to its announcement, first hour with the opening burst (p99)",
                        "s", ("<=", bound), cmd),
        "dropped": Figure("voice_delay.dropped", "Calls not said (too late or superseded), "
                          "per day", "calls", None, cmd),
        "merged": Figure("voice_delay.merged", "Recalls said together with their call, per "
                         "day", "calls", None, cmd),
        "quechua": Figure("voice_delay.quechua", "Calls said in Quechua too", "%", None, cmd),
    }
    lengths = clip_lengths(args.sample)
    for n in range(1, args.runs + 1):
        speaker = simulate(day_calls(n, lengths), Rules(bound=bound))
        outcomes = list(speaker.outcomes.values())
        spoken = [o for o in outcomes if o.fate == "spoken"]
        delays = [o.delay for o in spoken if o.delay is not None]
        first = [o.delay for o in spoken if o.delay is not None and o.item.made < 3600]
        fig["p50"].add(percentile(delays, 50))
        fig["p99"].add(percentile(delays, 99))
        fig["max"].add(max(delays))
        fig["first"].add(percentile(first, 99))
        fig["dropped"].add(sum(o.fate == "dropped" for o in outcomes))
        fig["merged"].add(sum(o.fate == "merged" for o in outcomes))
        fig["quechua"].add(100 * sum(o.clips_said >= 3 for o in spoken) / len(spoken))
        progress(f"voice_delay run {n}: {len(outcomes)} calls, p50 {fig['p50'].values[-1]:.1f} "
                 f"s, p99 {fig['p99'].values[-1]:.1f} s, max {fig['max'].values[-1]:.1f} s, "
                 f"first hour p99 {fig['first'].values[-1]:.1f} s, dropped "
                 f"{fig['dropped'].values[-1]:.0f}, merged {fig['merged'].values[-1]:.0f}")
    return list(fig.values())


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
