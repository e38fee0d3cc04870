// Announcements on the TV: chime, then the phrase in each of the TV's languages, strictly
// one after another. Announcements are queued in the order they arrive (the order of the
// calls) and none is dropped; a clip that cannot be played is skipped, never the next
// announcement. When the browser blocks autoplay, a large "Activar sonido" button appears
// and the queue waits for it.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const player = new Audio();
  player.preload = "auto";
  const sound = {
    queue: [],       // announcements waiting, the one playing first
    playing: false,
    blocked: false,
    boot: null,
    last: 0,
    log: [],         // the last clips played: {seq, label, clip, start, end, error}
  };
  const CLIP_LIMIT_MS = 30000;  // a clip that never ends must not stall the queue

  function enqueue(a) {
    if (a.boot === sound.boot && a.seq <= sound.last) return;  // a repeat after a reconnect
    sound.boot = a.boot;
    sound.last = a.seq;
    sound.queue.push({ ...a, next: 0 });
    pump();
  }

  async function pump() {
    if (sound.playing || sound.blocked) return;
    const a = sound.queue[0];
    if (!a) return;
    sound.playing = true;
    try {
      while (a.next < a.clips.length) {
        await play(a, a.clips[a.next]);
        a.next += 1;
      }
      sound.queue.shift();
    } catch {
      // Autoplay refused: keep the announcement and start it again from its chime.
      a.next = 0;
      sound.blocked = true;
      $("sound").hidden = false;
    } finally {
      sound.playing = false;
    }
    if (!sound.blocked) pump();
  }

  function play(a, clip) {
    return new Promise((resolve, reject) => {
      const entry = { seq: a.seq, label: a.label, clip, start: performance.now(), end: null };
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
    const d = window.macDisplay;
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
