// Announcements on the TV: chime, then the phrase in each of the TV's languages, one clip at
// a time, never overlapping. What is said next is decided by the planner (voiceplan.js)
// whenever the speaker is free, so the voice is never more than the centre's bound
// (data-voice-bound seconds) behind the screen: in a burst, older announcements are dropped
// (they stay on screen), a recall merges with the waiting call of the same ticket, the latest
// call per módulo wins, and the other languages are said when there is time (data-second).
// A clip that cannot be played is skipped, never the next announcement. When the browser
// blocks autoplay, a large "Activar sonido" button appears and the queue waits for it.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const player = new Audio();
  player.preload = "auto";
  const sound = {
    queue: [],       // announcements waiting, the one being said first
    playing: false,
    blocked: false,
    boot: null,
    last: 0,
    // The last clips played: {seq, ticket, label, clip, index, made, start, end, onScreen,
    // error}; made/start/end in performance.now() milliseconds (made: when the call came on
    // screen), onScreen: whether the call was on screen when its clip started.
    log: [],
    dropped: [],     // {seq, label, made, at} of announcements not said (too late, superseded,
                     // or skipped by the box: {skipped} then, see hardware/speaker/pacing.py)
    merged: [],      // {seq, label, made, at} said together with a later call of their ticket
    waiting: () => new Set(sound.queue.map((a) => a.ticket)),
  };
  const CLIP_LIMIT_MS = 30000;  // a clip that never ends must not stall the queue
  const GUESS = [0.7, 2.5];     // seconds of chime and phrase, when the server does not say
  const display = () => window.macDisplay;

  function rules() {
    return { bound: Number(body.dataset.voiceBound) || 30,
             second: body.dataset.second || "when_time",
             capacity: display().cfg.rows || 8 };  // + the one being said: all listed
  }

  function enqueue(a) {
    if (a.boot === sound.boot && a.seq <= sound.last) return;  // a repeat after a reconnect
    sound.boot = a.boot;
    sound.last = a.seq;
    const now = performance.now();
    const shown = display().shownAt(a.event);
    if (a.skipped) {  // the box did not synthesize it: no TV could say it in time
      sound.dropped.push({ seq: a.seq, label: a.label, made: shown == null ? now : shown,
                           at: now, skipped: a.skipped });
      if (sound.dropped.length > 500) sound.dropped.splice(0, sound.dropped.length - 500);
      return;
    }
    const seconds = a.clips.map((_, i) => Number((a.seconds || [])[i]) ||
                                          GUESS[Math.min(i, 1)]);
    sound.queue.push({ ...a, ticket: String(a.ticket == null ? a.seq : a.ticket),
                       counter: String(a.counter), made: shown == null ? now : Math.min(shown, now),
                       seconds, said: 0 });
    pump();
  }

  // The planner's view of the queue: times in seconds.
  const view = () => sound.queue.map((a) => ({
    seq: a.seq, ticket: a.ticket, counter: a.counter, made: a.made / 1000, clips: a.seconds,
    said: a.said }));

  function apply(decision) {
    const at = performance.now();
    const note = (list, seqs) => {
      for (const seq of seqs) {
        const a = sound.queue.find((x) => x.seq === seq);
        if (a) list.push({ seq, label: a.label, made: a.made, at });
      }
      if (list.length > 500) list.splice(0, list.length - 500);
    };
    note(sound.dropped, decision.dropped);
    note(sound.merged, decision.merged);
    const gone = new Set([...decision.dropped, ...decision.merged, ...decision.finished]);
    sound.queue = sound.queue.filter((a) => !gone.has(a.seq));
    return gone.size > 0;
  }

  async function pump() {
    if (sound.playing || sound.blocked) return;
    const decision = window.macVoicePlan.decide(view(), performance.now() / 1000, rules());
    const changed = apply(decision);
    const a = decision.play && sound.queue.find((x) => x.seq === decision.play[0]);
    if (!a) {
      display().speaking(null);
      if (changed) display().refresh();
      return;
    }
    const index = decision.play[1];
    if (index === 0 && display().shownAt(a.event) == null && performance.now() - a.made < 2000) {
      setTimeout(pump, 100);  // the call itself is still on its way to the screen
      return;
    }
    if (index === 0) display().speaking(a.ticket);  // also lists it again if it had gone
    else if (changed) display().refresh();
    sound.playing = true;
    try {
      await play(a, index);
      a.said = index + 1;
    } catch {
      // Autoplay refused: keep the announcement and start it again from its chime.
      a.said = 0;
      sound.blocked = true;
      $("sound").hidden = false;
      display().speaking(null);
    } finally {
      sound.playing = false;
    }
    if (!sound.blocked) pump();
  }

  function play(a, index) {
    const clip = a.clips[index];
    return new Promise((resolve, reject) => {
      const entry = { seq: a.seq, ticket: a.ticket, label: a.label, clip, index, made: a.made,
                      start: performance.now(), end: null,
                      onScreen: display().onScreen(a.ticket) };
      let timer = setTimeout(done, CLIP_LIMIT_MS);
      function done(error) {
        clearTimeout(timer);
        player.onended = player.onerror = player.onloadedmetadata = null;
        entry.end = performance.now();
        if (error) entry.error = String(error);
        sound.log.push(entry);
        if (sound.log.length > 200) sound.log.shift();
        resolve();
      }
      player.onended = () => done();
      player.onerror = () => done("error");
      player.onloadedmetadata = () => {
        if (Number.isFinite(player.duration)) {
          clearTimeout(timer);
          timer = setTimeout(() => { player.pause(); done("timeout"); },
                             player.duration * 1000 + 3000);
        }
      };
      player.src = clip;
      const started = player.play();
      if (started && started.catch) {
        started.catch((err) => {
          if (err && err.name === "NotAllowedError") {
            clearTimeout(timer);
            player.onended = player.onerror = player.onloadedmetadata = null;
            reject(err);
          } else {
            done(err && err.name);
          }
        });
      }
    });
  }

  function enable() {
    sound.blocked = false;
    $("sound").hidden = true;
    // Playing from within the click is what the browser counts as the user's permission.
    player.src = "/display/audio/chime.wav";
    player.muted = true;
    const p = player.play();
    const go = () => { player.pause(); player.muted = false; pump(); };
    if (p && p.then) p.then(go, go); else go();
  }

  function start() {
    const d = display();
    $("enable-sound").addEventListener("click", enable);
    if (navigator.getAutoplayPolicy && navigator.getAutoplayPolicy("mediaelement") !== "allowed") {
      sound.blocked = true;
      $("sound").hidden = false;
    }
    const params = new URLSearchParams();
    params.set("voice", body.dataset.voices || "es");
    if (body.dataset.filter) params.set("entities", body.dataset.filter);
    if (body.dataset.zones) params.set("zone", body.dataset.zones);
    d.connect("announcements", () => {
      const p = new URLSearchParams(params);
      if (sound.boot) p.set("after", `${sound.boot}:${sound.last}`);
      return `/display/${encodeURIComponent(d.cfg.name)}/announcements?${p}`;
    }, {
      hello: (h) => { if (h.boot !== sound.boot) { sound.boot = h.boot; sound.last = h.last; } },
      announcement: enqueue,
    });
  }

  window.macSound = sound;
  if (window.macDisplay && window.macDisplay.ready) start();
  else document.addEventListener("mac-display-ready", start, { once: true });
})();
