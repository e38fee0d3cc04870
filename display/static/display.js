// The waiting-room TV: the live stream of calls, the big last call, the history, the message
// band, the clock and the idle screen (which keeps the recent calls listed). After any
// (re)connection the stream's snapshot replaces everything shown, so the screen always ends
// up showing the true state. A call the speakers have not said yet stays listed until it is
// said (sound.js tells which), and the one being said is highlighted.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const cfg = {
    name: body.dataset.name,
    timezone: body.dataset.timezone,
    rows: Number(body.dataset.rows) || 8,
    idleMs: (Number(body.dataset.idleMinutes) || 10) * 60000,
    filter: new Set((body.dataset.filter || "").split(",").filter(Boolean)),
    entities: JSON.parse(body.dataset.entities || "{}"),
    zones: new Set((body.dataset.zones || "").split(",").filter(Boolean)),
    counterZones: JSON.parse(body.dataset.counterZones || "{}"),
  };
  const state = { day: null, calls: [], message: null, offset: 0, flashTimer: null,
                  speaking: null, shownAt: new Map(), idle: false };
  const KEPT = 60;  // calls remembered; the screen lists the newest, unsaid ones first
  const links = {};  // stream name -> connected?

  // ---------------------------------------------------------------- streams, reconnecting
  // One EventSource per stream; on any error it is closed and opened again after a growing
  // wait (1 s doubling to 30 s, with jitter so that 20 TVs do not come back at once).
  function connect(name, url, handlers) {
    let wait = 1000;
    let opened = false;
    let source = null;
    function open() {
      source = new EventSource(typeof url === "function" ? url() : url);
      source.addEventListener("open", () => { wait = 1000; opened = true; setLink(name, true); });
      for (const [kind, fn] of Object.entries(handlers)) {
        source.addEventListener(kind, (ev) => {
          try { fn(JSON.parse(ev.data)); } catch (err) { console.warn(kind, err); }
        });
      }
      source.addEventListener("error", () => {
        source.close();
        setLink(name, false);
        if (!opened) checkEnrolment();
        const delay = wait * (0.8 + Math.random() * 0.4);
        wait = Math.min(wait * 2, 30000);
        setTimeout(open, delay);
      });
    }
    open();
    return { close: () => source && source.close() };
  }

  function setLink(name, ok) {
    links[name] = ok;
    const down = Object.values(links).some((v) => !v);
    $("status").hidden = !down;
    body.classList.toggle("reconnecting", down);
  }

  async function checkEnrolment() {
    try {
      const r = await fetch("/api/v1/devices/session", { credentials: "same-origin" });
      $("enrol").hidden = r.status !== 401;
    } catch { /* the server is away: the status already says "reconectando" */ }
  }

  // A TV enrolled as /display/<name>#device=TOKEN hands the token to the server once, which
  // answers with an HttpOnly cookie that EventSource sends; the token leaves the address.
  async function enrol() {
    const match = location.hash.match(/device=([^&]+)/);
    if (!match) return;
    history.replaceState(null, "", location.pathname + location.search);
    try {
      const r = await fetch("/api/v1/devices/session", {
        method: "POST", credentials: "same-origin",
        headers: { Authorization: "Bearer " + decodeURIComponent(match[1]) } });
      $("enrol").hidden = r.status === 200;
    } catch { /* retried by the stream's own reconnects and checks */ }
  }

  // ---------------------------------------------------------------- calls
  function callFrom(event) {
    const p = event.payload || {};
    return { ticket: event.ticket, seq: event.seq, at: event.at, day: p.day,
             label: p.label, counter: event.counter, counterName: p.counter_name,
             entity: p.entity, entityName: p.entity_name || p.entity,
             preferential: !!p.preferential, recall: event.kind === "ticket.recalled" };
  }

  function shown(call) {
    return (!cfg.filter.size || cfg.filter.has(call.entity)) &&
           (!cfg.zones.size || cfg.zones.has(cfg.counterZones[call.counter])) &&
           (!state.day || !call.day || call.day === state.day);
  }

  function remember(call) {  // newest first, one row per ticket (a recall moves it up)
    state.calls = [call, ...state.calls.filter((c) => c.ticket !== call.ticket)]
      .slice(0, KEPT);
    state.shownAt.set(call.seq, performance.now());
    if (state.shownAt.size > 4 * KEPT) state.shownAt.delete(state.shownAt.keys().next().value);
  }

  // The history rows: the call being said, the calls the speakers still owe (newest of
  // them), then the newest of the rest; listed newest first.
  function listed() {
    const older = state.calls.slice(state.idle ? 0 : 1);
    const owed = window.macSound ? window.macSound.waiting() : new Set();
    const keep = new Set(older.filter((c) => String(c.ticket) === state.speaking)
      .map((c) => c.ticket));
    for (const c of older.filter((x) => owed.has(String(x.ticket)))) {
      if (keep.size >= cfg.rows) break;
      keep.add(c.ticket);
    }
    for (const c of older) {
      if (keep.size >= cfg.rows) break;
      keep.add(c.ticket);
    }
    return older.filter((c) => keep.has(c.ticket));
  }

  function onSnapshot(snap) {
    state.day = snap.day ? snap.day.date : null;
    state.calls = [];
    const recent = (snap.recent_calls || []).slice().sort((a, b) => a.seq - b.seq);
    for (const event of recent) {
      const call = callFrom(event);
      if (shown(call)) remember(call);
    }
    state.message = snap.message || null;
    render(false);
    body.dataset.snapshots = String(Number(body.dataset.snapshots || 0) + 1);
  }

  function onCall(event) {
    const call = callFrom(event);
    if (call.day && state.day && call.day > state.day) {  // a new service day has opened
      state.day = call.day;
      state.calls = [];
    }
    if (!shown(call)) return;
    if (state.calls.length && state.calls[0].seq >= call.seq) return;  // already shown
    remember(call);
    render(true);
  }

  function onMessage(event) {
    const p = event.payload || {};
    state.message = p.text ? { text: p.text, until: p.until || null } : null;
    renderBand();
  }

  // ---------------------------------------------------------------- drawing
  function render(flash) {
    const [now] = state.calls;
    $("now-call").hidden = !now;
    $("now-empty").hidden = !!now;
    const panel = $("now");
    if (now) {
      $("now-label").textContent = now.label;
      $("now-counter").textContent = String(now.counter);
      $("now-entity").textContent = now.entityName || "";
      const colour = (cfg.entities[now.entity] || {}).colour;
      $("now-entity").style.setProperty("--entity", colour || "");
      $("now-preferential").hidden = !now.preferential;
      $("now-recall").hidden = !now.recall;
      $("now-speaking").hidden = state.speaking !== String(now.ticket);
      panel.classList.toggle("speaking", state.speaking === String(now.ticket));
      panel.classList.toggle("preferential", now.preferential);
      panel.dataset.ticket = now.ticket;
      if (flash) {
        panel.classList.remove("flash");
        void panel.offsetWidth;  // restart the animation on a new call
        panel.classList.add("flash");
      }
    }
    const rows = $("history-rows");
    rows.replaceChildren(...listed().map(row));
    fitAll();
    renderBand();
    tick();
  }

  function row(call) {
    const tr = document.createElement("tr");
    tr.dataset.ticket = call.ticket;
    tr.classList.toggle("preferential", call.preferential);
    tr.classList.toggle("speaking", state.speaking === String(call.ticket));
    const label = document.createElement("td");
    label.className = "label-cell";
    label.textContent = call.label;
    if (call.preferential) label.append($("preferential-mark").content.cloneNode(true));
    if (state.speaking === String(call.ticket)) {
      label.append($("speaking-mark").content.cloneNode(true));
    }
    const counter = document.createElement("td");
    counter.className = "counter-cell";
    counter.textContent = String(call.counter);
    const entity = document.createElement("td");
    entity.className = "entity-cell";
    entity.textContent = call.entityName || "";
    tr.append(label, counter, entity);
    return tr;
  }

  // A label or módulo that does not fit at its CSS size is made smaller until it does: it
  // is never cut. (With the fonts of Debian's Chromium the CSS sizes already fit "ABC-1000".)
  function fit(el) {
    el.style.fontSize = "";
    let size = parseFloat(getComputedStyle(el).fontSize);
    for (let i = 0; i < 40 && el.scrollWidth > el.clientWidth && size > 12; i++) {
      size *= 0.95;
      el.style.fontSize = size + "px";
    }
  }
  function fitAll() { document.querySelectorAll(".fit").forEach(fit); }

  function renderBand() {
    const m = state.message;
    const live = m && m.text && !(m.until && Date.parse(m.until) <= serverNow());
    $("band").hidden = !live;
    $("band-text").textContent = live ? m.text : "";
  }

  // ---------------------------------------------------------------- clock and idle
  function serverNow() { return Date.now() + state.offset; }

  const clockFormat = new Intl.DateTimeFormat("es-PE", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: cfg.timezone });

  function tick() {
    const text = clockFormat.format(new Date(serverNow()));
    $("clock").textContent = text;
    $("idle-clock").textContent = text;
    const last = state.calls.length ? Date.parse(state.calls[0].at) : NaN;
    const idle = !state.calls.length || !(serverNow() - last < cfg.idleMs);
    body.classList.toggle("idle-mode", idle);
    if (idle !== state.idle) {  // idle: the last call joins the list, as the big one hides
      state.idle = idle;
      if (state.calls.length) render(false);
    }
    body.classList.toggle("no-calls", !state.calls.length);
    $("idle").hidden = !idle;
    if (state.message && state.message.until && Date.parse(state.message.until) <= serverNow()) {
      renderBand();
    }
  }

  // The TV's own clock may be wrong (a Pi without a real-time clock, no internet): the time
  // shown, and the one the idle screen goes by, is the server's.
  async function syncClock() {
    try {
      const sent = Date.now();
      const r = await fetch("/display/clock", { cache: "no-store" });
      const now = Date.parse((await r.json()).now);
      if (!Number.isNaN(now)) state.offset = now - (sent + Date.now()) / 2;
      tick();
    } catch { /* keep the last offset */ }
  }

  window.addEventListener("resize", fitAll);

  async function start() {
    await enrol();
    await syncClock();
    tick();
    setInterval(tick, 1000);
    setInterval(syncClock, 10 * 60000);
    connect("calls", "/api/v1/stream", {
      snapshot: onSnapshot,
      "ticket.called": onCall,
      "ticket.recalled": onCall,
      "display.message": onMessage,
    });
    window.macDisplay.ready = true;
    document.dispatchEvent(new Event("mac-display-ready"));
  }

  // For sound.js: when a call came on screen (performance.now(), or null), whether a ticket
  // is on screen, and which ticket is being said (null: none).
  function shownAt(eventSeq) {
    const at = state.shownAt.get(eventSeq);
    return at === undefined ? null : at;
  }
  function onScreen(ticket) {
    const now = state.calls[0];
    if (now && String(now.ticket) === String(ticket) && !state.idle) return true;
    return [...document.querySelectorAll("#history-rows tr")]
      .some((tr) => tr.dataset.ticket === String(ticket));
  }
  function speaking(ticket) {
    const value = ticket == null ? null : String(ticket);
    if (state.speaking === value) return;
    state.speaking = value;
    if (state.calls.length) render(false);
  }

  window.macDisplay = { connect, setLink, syncClock, cfg, state, ready: false,
                        shownAt, onScreen, speaking, refresh: () => render(false) };
  start();
})();
