// The asesor's desk: call, recall, start, finish, no-show, transfer, pause, close. Every change
// is a call to /api/v1 with the CSRF token; the live stream keeps the desk true to changes
// made anywhere else (a supervisor, the call button, the automatic no-show). The calls, the
// sign-in, the «Sin conexión» state and the stream's reconnection are the staff pages' own
// (staff.js, window.Staff).
"use strict";

(function (Staff, Queue) {
  const { $, api, errorText } = Staff;
  const DESK_ROLES = ["agent", "supervisor", "admin"];
  const STATE = { open: "Abierto", paused: "En pausa", closed: "Cerrado" };
  const REASON = { break: "Refrigerio", training: "Capacitación", it_support: "Soporte TIC",
                   entity_system_down: "Sistema de la entidad caído", other: "Otro" };
  const TICKET = { called: "Llamado: esperando al ciudadano", serving: "En atención" };
  const SCORE = { 1: "Muy mal", 2: "Mal", 3: "Regular", 4: "Bien", 5: "Muy bien" };
  const KEYS = { F2: "call-next", F3: "recall", F4: "start", F8: "finish", F9: "no-show" };
  const ACTIONS = ["call-next", "recall", "start", "finish", "no-show", "transfer", "pause",
                   "resume", "open", "close"];

  let me = null;
  let catalog = null;
  let counter = null;      // this desk's módulo from the catalogue: {id, name, entity, queues}
  let state = null;        // its live state from GET /counters
  let ticket = null;       // the current ticket's full view, or null
  let lastFinished = null; // {uid, label} of the last attention finished here, for its rating
  let inFlight = false;
  let offset = 0;          // server clock minus browser clock, ms
  let stream = null;
  let health = null;       // GET /health at boot: the serial devices' states
  const devices = {};      // "button" | "sign" -> connected, for this módulo
  const timers = {};

  function debounce(name, fn, wait) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, wait);
  }

  function show(section) {
    for (const id of ["login", "choose", "desk"]) $(id).hidden = id !== section;
  }

  function say(text) { $("message").textContent = text; $("error").hidden = true; }

  function fail(text) {
    $("error").textContent = text;
    $("error").hidden = false;
    $("message").textContent = "";
  }

  // --- who, and which módulo -------------------------------------------------------------

  async function boot() {
    const who = await Staff.signIn({ roles: DESK_ROLES, sections: ["choose", "desk"],
                                     denied: "Su rol no corresponde a un módulo de atención." });
    if (!who) return;
    me = who;
    const cat = await api("GET", "/api/v1/catalog");
    if (cat.status !== 200) {
      if (cat.status === 0) Staff.retryStart();  // read it all again once the box answers
      return;
    }
    catalog = cat.data;
    const h = await api("GET", "/api/v1/health");
    if (h.status === 200) { health = h.data; syncClock(health.components.clock.now); }
    const choices = myCounters();
    const bound = Number(document.body.dataset.bound) || null;
    const kept = Number(sessionStorage.getItem("mt_counter")) || null;
    const wanted = bound || kept;
    const found = choices.find((c) => c.id === wanted);
    if (bound && !found) {
      show("choose");
      fillChooser(choices);
      chooseError(`El módulo ${bound} no existe o no es de su entidad.`);
      return;
    }
    if (found) { useCounter(found); return; }
    if (choices.length === 1) { useCounter(choices[0]); return; }
    fillChooser(choices);
    show("choose");
  }

  // The módulos this person may work at: an asesor only those of the entity.
  function myCounters() {
    return catalog.counters.filter((c) => me.role !== "agent" || c.entity === me.entity);
  }

  function chooseError(text) { $("choose-error").textContent = text; $("choose-error").hidden = false; }

  function fillChooser(choices) {
    const select = $("choose-counter");
    select.replaceChildren();
    for (const c of choices) {
      const entity = catalog.entities.find((e) => e.code === c.entity);
      const o = document.createElement("option");
      o.value = c.id;
      o.textContent = `${c.name} · ${entity ? entity.short_name : c.entity}`;
      select.appendChild(o);
    }
  }

  function useCounter(c) {
    counter = c;
    sessionStorage.setItem("mt_counter", String(c.id));
    const entity = catalog.entities.find((e) => e.code === c.entity);
    $("desk-title").textContent = `${c.name} · ${entity ? entity.short_name : c.entity}`;
    $("bar-counter").textContent = c.name;
    document.title = `${c.name} · ${document.title.split(" · ").pop()}`;
    $("change-counter").hidden = Boolean(Number(document.body.dataset.bound));
    fillTransfer();
    const known = health && health.components.desk_devices ? health.components.desk_devices.devices : [];
    for (const key of Object.keys(devices)) delete devices[key];
    for (const d of known.filter((x) => x.counter === c.id)) devices[d.kind] = d.connected;
    renderDevices();
    show("desk");
    render();
    refreshCounter();
    refreshQueues();
    listen();
  }

  function fillTransfer() {
    const select = $("transfer-service");
    select.replaceChildren();
    for (const e of catalog.entities) {
      const group = document.createElement("optgroup");
      group.label = e.short_name;
      for (const s of catalog.services.filter((x) => x.entity === e.code)) {
        const o = document.createElement("option");
        o.value = s.id;
        o.textContent = s.name;
        group.appendChild(o);
      }
      if (group.children.length) select.appendChild(group);
    }
  }

  // --- reading the state -------------------------------------------------------------------

  function syncClock(iso) {
    const at = Date.parse(iso);
    if (!Number.isNaN(at)) offset = at - Date.now();
  }

  async function refreshCounter() {
    const r = await api("GET", "/api/v1/counters");
    if (r.status !== 200) return;
    applyCounter(r.data.counters.find((c) => c.id === counter.id));
  }

  let applied = 0;

  async function applyCounter(found) {
    if (!found) return;
    const seq = ++applied;  // a slower, older answer must not overwrite a newer one
    const current = found.current && ["called", "serving"].includes(found.current.status)
      ? found.current : null;
    let view = null;
    if (current) {
      const r = await api("GET", `/api/v1/tickets/${current.uid}`);
      view = r.status === 200 ? r.data : { ...current };
    }
    if (seq !== applied) return;
    state = found;
    ticket = view;
    render();
  }

  async function refreshQueues() {
    const r = await api("GET", "/api/v1/queues");
    if (r.status === 200) renderQueues(r.data.queues);
    await refreshWaiting();
  }

  // Who waits at this módulo (first rows only: the page stays light with a crowd).
  async function refreshWaiting() {
    if (!counter) return;
    const r = await api("GET", `/api/v1/counters/${counter.id}/waiting`);
    if (r.status === 200 && r.data.counter === counter.id) {
      Queue.render(r.data, Date.now() + offset, priorityName);
    }
  }

  function myQueues() { return counter ? counter.queues.map((q) => q.queue) : []; }

  // --- drawing -----------------------------------------------------------------------------

  function minutes(value) { return `${Math.round(value)} min`; }

  function renderQueues(queues) {
    const rows = $("queue-rows");
    rows.replaceChildren();
    for (const code of myQueues()) {
      const q = queues.find((x) => x.code === code);
      if (!q) continue;
      const late = q.waiting && q.oldest_wait_minutes > q.max_wait_minutes;
      const tr = document.createElement("tr");
      tr.dataset.queue = q.code;
      if (late) tr.className = "late";
      const cells = [q.is_open ? q.name : `${q.name} (cerrada)`, q.waiting, q.waiting_preferential,
                     q.waiting ? minutes(q.oldest_wait_minutes) + (late ? " (fuera de meta)" : "") : "—",
                     minutes(q.max_wait_minutes)];
      cells.forEach((text, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = String(text);
        tr.appendChild(cell);
      });
      rows.appendChild(tr);
    }
  }

  function renderDevices() {
    const names = { button: "Botón de llamada", sign: "Letrero numérico" };
    const kinds = Object.keys(devices);
    const box = $("devices");
    box.hidden = !kinds.length;
    box.textContent = kinds.map((k) => `${names[k] || k}: ${devices[k] ? "conectado" : "desconectado"}`).join(" · ");
    box.classList.toggle("warn", kinds.some((k) => !devices[k]));
  }

  function priorityName(code) {
    const p = catalog.priorities.find((x) => x.code === code);
    return p ? p.name_es : code;
  }

  function render() {
    const status = state ? state.status : "closed";
    const badge = $("counter-state");
    badge.className = `state ${status}`;
    badge.textContent = status === "paused" && state.reason
      ? `En pausa: ${REASON[state.reason] || state.reason}` : STATE[status];
    const panel = document.querySelector(".current");
    panel.classList.toggle("called", Boolean(ticket && ticket.status === "called"));
    panel.classList.toggle("serving", Boolean(ticket && ticket.status === "serving"));
    if (ticket) {
      $("current-label").textContent = ticket.label;
      $("current-status").textContent = TICKET[ticket.status] || ticket.status;
      const bits = [ticket.service_name, ticket.priority ? priorityName(ticket.priority) : "",
                    ticket.name || ""].filter(Boolean);
      $("current-info").textContent = bits.join(" · ");
      $("current-recalls").textContent = ticket.recalls ? `Rellamadas: ${ticket.recalls}` : "";
      $("current-rule").textContent = Queue.ruleText(ticket, priorityName, catalog.centre.timezone);
      $("current-wait").textContent = Queue.waitText(ticket);
      $("timer-caption").textContent = ticket.status === "serving" ? "En atención" : "Llamado hace";
    } else {
      $("current-label").textContent = "—";
      $("current-status").textContent = status === "open" ? "Sin turno" : STATE[status];
      $("current-info").textContent = "";
      $("current-recalls").textContent = "";
      $("current-rule").textContent = "";
      $("current-wait").textContent = "";
      $("timer-caption").textContent = status === "paused" ? "En pausa" : "Tiempo";
    }
    tick();
    enable();
  }

  function since() {
    if (ticket) return ticket.status === "serving" ? ticket.started_at : ticket.called_at;
    return state && state.status === "paused" ? state.since : null;
  }

  function tick() {
    const from = since();
    if (!from) { $("current-timer").textContent = "00:00"; return; }
    const seconds = Math.max(0, Math.floor((Date.now() + offset - Date.parse(from)) / 1000));
    const h = Math.floor(seconds / 3600);
    const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
    const ss = String(seconds % 60).padStart(2, "0");
    $("current-timer").textContent = h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function allowed(action) {
    const status = state ? state.status : null;
    const t = ticket ? ticket.status : null;
    switch (action) {
      case "call-next": return status === "open" && !t;
      case "recall": case "start": case "no-show": return t === "called";
      case "finish": return t === "serving";
      case "transfer": return t === "called" || t === "serving";
      case "pause": return status === "open" && !t;
      case "resume": return status === "paused";
      case "open": return status === "closed";
      case "close": return (status === "open" || status === "paused") && !t;
      default: return false;
    }
  }

  function enable() {
    for (const action of ACTIONS) {
      const b = document.querySelector(`[data-action="${action}"]`);
      b.disabled = inFlight || !allowed(action);
    }
    Queue.enable(!inFlight && allowed("call-next"));
    $("pause").hidden = state && state.status !== "open";
    $("resume").hidden = !state || state.status !== "paused";
    $("open").hidden = !state || state.status !== "closed";
  }

  // --- acting ------------------------------------------------------------------------------

  function bodyFor(action) {
    if (action === "finish") {
      return { outcome: document.querySelector('input[name="outcome"]:checked').value };
    }
    if (action === "transfer") {
      return { service_id: Number($("transfer-service").value), position: $("transfer-position").value };
    }
    if (action === "pause") return { reason: $("pause-reason").value };
    return {};
  }

  const DONE = {
    "call-next": (t) => `Llamado ${t.label}.`, call: (t) => `Llamado ${t.label}.`, recall: (t) => `Vuelto a llamar ${t.label}.`,
    start: (t) => `Atención de ${t.label} iniciada.`, finish: (t) => `Atención de ${t.label} finalizada.`,
    "no-show": (t) => `${t.label}: no se presentó.`, transfer: (t) => `${t.label} derivado.`,
    pause: () => "Módulo en pausa.", resume: () => "Módulo reanudado.", open: () => "Módulo abierto.",
    close: () => "Módulo cerrado.",
  };

  async function act(action) {
    if (inFlight || !counter || !allowed(action)) return;
    if (action === "close" && !window.confirm(`¿Cerrar ${counter.name}?`)) return;
    inFlight = true;   // set before any await: a second click or key finds the desk busy
    enable();
    const before = ticket;
    try {
      const r = await api("POST", `/api/v1/counters/${counter.id}/${action}`, bodyFor(action));
      if (r.status === 204) {
        say("Nadie espera en las colas de este módulo.");
      } else if (r.status === 200) {
        afterSuccess(action, r.data, before);
      } else if (r.status === 409) {
        fail(`No se pudo: ${errorText(r)} La pantalla se actualizó.`);
      } else {
        fail(errorText(r));
      }
    } finally {
      inFlight = false;
      enable();
      await refreshCounter();
    }
  }

  // «Llamar este turno»: a given ticket; when it passes a preferential citizen the engine
  // asks for a reason (409 reason_required) and the dialog asks the asesor.
  async function callThis(item, reason) {
    if (inFlight || !counter || !allowed("call-next")) return;
    inFlight = true;
    enable();
    try {
      const r = await api("POST", `/api/v1/counters/${counter.id}/call`, { uid: item.uid, ...(reason || {}) });
      if (r.status === 200) {
        afterSuccess("call", r.data, null);
      } else if (r.status === 409 && r.data && r.data.error === "reason_required") {
        Queue.askReason(item, r.data.passed || []);
      } else {
        fail(r.status === 409 ? `No se pudo: ${errorText(r)} La pantalla se actualizó.` : errorText(r));
      }
    } finally {
      inFlight = false;
      enable();
      await refreshCounter();
      await refreshWaiting();
    }
  }

  function afterSuccess(action, data, before) {
    applied++;  // answers to reads sent before this change are stale now
    if (["call-next", "call", "recall", "start"].includes(action)) {
      ticket = data;
      state = { ...(state || {}), status: "open", current: { uid: data.uid, status: data.status } };
      say(DONE[action](data));
    } else if (["finish", "no-show", "transfer"].includes(action)) {
      const label = before ? before.label : data.label;
      ticket = null;
      say(DONE[action]({ label }));
      if (action === "finish") {
        document.querySelector('input[name="outcome"][value="attended"]').checked = true;
        awaitRating(data.uid, label);
      }
    } else {
      state = { ...(state || {}), ...data };
      say(DONE[action]());
    }
    render();
  }

  function awaitRating(uid, label) {
    if (document.body.dataset.rating !== "on") return;
    lastFinished = { uid, label };
    $("rating-status").textContent = `Calificación de ${label}: el ciudadano puede calificar en la pantalla de atención.`;
    $("rating-status").hidden = false;
  }

  // --- live --------------------------------------------------------------------------------

  const TICKET_EVENTS = ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.started",
    "ticket.finished", "ticket.no_show", "ticket.cancelled", "ticket.reactivated",
    "ticket.transferred", "ticket.next_step", "ticket.priority_changed", "ticket.expired"];
  const FLOOR_EVENTS = ["counter.opened", "counter.paused", "counter.resumed", "counter.closed",
    "queue.opened", "queue.closed", "day.opened", "day.closed"];

  function onEvent(ev) {
    let e;
    try { e = JSON.parse(ev.data); } catch { return; }
    if (e.at) syncClock(e.at);
    const mine = myQueues();
    const p = e.payload || {};
    if (e.counter === counter.id) debounce("counter", refreshCounter, 60);
    if (mine.includes(p.queue) || mine.includes(p.to_queue) || e.kind.startsWith("queue.")
        || e.kind.startsWith("day.")) {
      debounce("queues", refreshQueues, 400);
    }
    if (e.kind === "desk_device.status" && e.counter === counter.id) {
      devices[p.device] = p.connected;
      renderDevices();
    }
    if (e.kind === "ticket.rated" && lastFinished && e.ticket === lastFinished.uid) {
      $("rating-status").textContent =
        `El ciudadano calificó ${lastFinished.label}: ${p.score} (${SCORE[p.score] || ""}).`;
    }
  }

  // Each connection (the first, and every one after a gap) starts with a snapshot of the
  // floor: the desk redraws from it, so nothing missed while offline stays wrong.
  function onSnapshot(ev) {
    let snap;
    try { snap = JSON.parse(ev.data); } catch { return; }
    renderQueues(snap.queues);
    refreshWaiting();
    applyCounter(snap.counters.find((c) => c.id === counter.id));
  }

  function listen() {
    if (stream) stream.close();
    const handlers = { snapshot: onSnapshot };
    for (const kind of [...TICKET_EVENTS, ...FLOOR_EVENTS, "ticket.rated", "desk_device.status"]) {
      handlers[kind] = onEvent;
    }
    stream = Staff.stream("/api/v1/stream", handlers);
  }

  // --- wiring ------------------------------------------------------------------------------

  function wire() {
    Staff.wireSession(boot, () => {
      if (stream) stream.close();
      sessionStorage.removeItem("mt_counter");
    });
    $("choose-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const c = catalog.counters.find((x) => x.id === Number($("choose-counter").value));
      if (c) useCounter(c);
    });
    $("change-counter").addEventListener("click", () => {
      if (stream) stream.close();
      sessionStorage.removeItem("mt_counter");
      fillChooser(myCounters());
      show("choose");
    });
    Queue.init(callThis);
    for (const action of ACTIONS) {
      document.querySelector(`[data-action="${action}"]`).addEventListener("click", () => act(action));
    }
    document.addEventListener("keydown", (ev) => {
      const action = KEYS[ev.key];
      if (!action || ev.altKey || ev.ctrlKey || ev.metaKey || $("desk").hidden || Queue.asking()) return;
      ev.preventDefault();
      act(action);
    });
    setInterval(tick, 1000);
    setInterval(() => { if (counter && !$("desk").hidden) refreshQueues(); }, 30000);  // waits grow
  }

  wire();
  boot();
})(window.Staff, window.DeskQueue);
