// What the TV's voice says next: the same pure planner as hardware/speaker/planner.py (a test
// runs both on the same cases), so the voice is never more than `bound` seconds behind the
// screen. Items: {seq, ticket, counter, made, clips: [seconds of chime, first language,
// others], said}; times in seconds. See the Python module for the rules.
(() => {
  "use strict";
  const MARGIN = 1.0;  // seconds of the bound kept in hand (planner.py's MARGIN)
  const CALL_START = 0.5;  // seconds to start a call's clips (planner.py's CALL_START)
  const must = (item) => (item.clips[0] || 0) + (item.clips[1] || 0);

  function feasible(items, start, deadline) {
    let t = start;
    for (const item of items) {
      if (t > item.made + deadline + 1e-9) return false;
      t += must(item) + CALL_START;
    }
    return true;
  }

  // Same ticket merges (the later wins, or joins the one being said); same módulo
  // supersedes a waiting call.
  function merge(queue) {
    const kept = [], dropped = [], merged = [];
    for (const item of [...queue].sort((a, b) => a.seq - b.seq)) {
      let keep = true;
      for (const old of [...kept]) {
        if (old.ticket === item.ticket) {
          if (old.said) { merged.push(item.seq); keep = false; break; }
          kept.splice(kept.indexOf(old), 1);
          merged.push(old.seq);
        } else if (old.counter === item.counter && !old.said) {
          kept.splice(kept.indexOf(old), 1);
          dropped.push(old.seq);
        }
      }
      if (keep) kept.push(item);
    }
    return { kept, dropped, merged };
  }

  function extrasAllowed(current, others, now, rules) {
    if (rules.second !== "when_time") return rules.second === "always";
    const rest = current.clips.slice(current.said).reduce((a, b) => a + b, 0);
    return feasible(others, now + rest, rules.bound / 2);
  }

  function decide(queue, now, rules) {
    const { kept, dropped, merged } = merge(queue);
    const current = kept.find((i) => i.said) || null;
    const waiting = kept.filter((i) => !i.said);
    let finished = [];
    if (current) {
      const more = current.said < current.clips.length;
      if (more && (current.said < 2 || extrasAllowed(current, waiting, now, rules))) {
        return { play: [current.seq, current.said], finished, dropped, merged };
      }
      finished = [current.seq];
    }
    const limit = rules.capacity == null ? waiting.length : rules.capacity;
    // The bound less the margin kept in hand for the player's start-up (as in planner.py).
    const planned = Math.max(0, rules.bound - (rules.margin == null ? MARGIN : rules.margin));
    while (waiting.length && (waiting.length > limit || !feasible(waiting, now, planned))) {
      dropped.push(waiting.shift().seq);
    }
    return { play: waiting.length ? [waiting[0].seq, 0] : null, finished, dropped, merged };
  }

  window.macVoicePlan = { decide };
})();
