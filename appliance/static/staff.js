// What every staff page shares: calls to /api/v1 with the session's CSRF token and answers
// read as {status, data} (errors are {error, message}), the sign-in form and «Cerrar sesión»,
// a visible «Sin conexión» state when the box cannot be reached (with retries, and the page
// refreshed when it answers again), and the live stream that reconnects by itself.
// Loaded before the page's own scripts; everything hangs from one object, window.Staff.
"use strict";

window.Staff = (function () {
  const OFFLINE_MESSAGE = "Sin conexión con el equipo.";
  const FIRST_RETRY_MS = 1000;
  const LAST_RETRY_MS = 30000;
  const PROBE_TIMEOUT_MS = 5000;
  // Any answer of the box proves it can be reached: this very file, asked for its headers.
  const PROBE_URL = document.currentScript ? document.currentScript.src : "/api/v1/health";

  const $ = (id) => document.getElementById(id);
  const session = { csrf: null, role: null, username: null, entity: null };
  const whenBack = new Set();  // run when the box answers again after a loss
  let offline = false;
  let probeTimer = null;
  let probeWait = FIRST_RETRY_MS;
  let probing = false;
  let probeAgain = false;      // a retry was asked for while a probe was out
  let start = null;            // the page's start (sign-in and first reads)
  let startAgain = false;      // it could not finish for want of a connection

  // --- calls -------------------------------------------------------------------------------

  // ``{status, data}``: ``data`` is the JSON answer (null when there is none, e.g. 204);
  // a failed call always has ``{error, message}``; no connection at all is status 0.
  // ``extraHeaders``: e.g. an Idempotency-Key.
  async function api(method, path, data, extraHeaders) {
    const headers = Object.assign({}, extraHeaders || {});
    if (data !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && session.csrf) headers["X-CSRF-Token"] = session.csrf;
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin", cache: "no-store",
        body: data === undefined ? undefined : JSON.stringify(data),
      });
    } catch {
      lost();
      return { status: 0, data: { error: "offline", message: OFFLINE_MESSAGE } };
    }
    if (offline) found();
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    if (!response.ok && (json === null || typeof json !== "object")) {
      json = { error: "http_error", message: `Error ${response.status}` };
    }
    return { status: response.status, data: json };
  }

  const errorText = (r) => (r.data && r.data.message) || `Error ${r.status}`;

  // A fresh Idempotency-Key: a change sent again after its answer was lost is done once.
  // (crypto.randomUUID needs HTTPS; the box is plain HTTP on the centre's network.)
  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- the connection ----------------------------------------------------------------------

  function banner() {
    let box = $("offline");
    if (box) return box;
    box = document.createElement("div");
    box.id = "offline";
    box.className = "offline";
    box.setAttribute("role", "alert");
    box.hidden = true;
    const text = document.createElement("span");
    text.textContent = `${OFFLINE_MESSAGE} Reintentando… Lo que se ve puede no estar al día.`;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.id = "offline-retry";
    retry.className = "secondary small";
    retry.textContent = "Reintentar ahora";
    retry.addEventListener("click", () => probe());
    box.append(text, " ", retry);
    (document.querySelector("main") || document.body).prepend(box);
    return box;
  }

  // The box could not be reached: say so, and ask again and again (waiting longer each time)
  // until it answers.
  function lost() {
    if (offline) return;
    offline = true;
    document.body.classList.add("is-offline");
    banner().hidden = false;
    probeWait = FIRST_RETRY_MS;
    clearTimeout(probeTimer);
    probeTimer = setTimeout(probe, probeWait);
  }

  // It answers again: hide the notice, then let the page and its live stream catch up.
  function found() {
    if (!offline) return;
    offline = false;
    clearTimeout(probeTimer);
    document.body.classList.remove("is-offline");
    banner().hidden = true;
    if (startAgain && start) {
      startAgain = false;
      start();
    }
    for (const fn of [...whenBack]) fn();
  }

  // A frozen box, or one powered off behind a half-open socket, never answers: the question
  // gives up after PROBE_TIMEOUT_MS instead of waiting for the browser's TCP timeout.
  async function reachable() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), PROBE_TIMEOUT_MS);
    try {
      await fetch(PROBE_URL, {
        method: "HEAD", cache: "no-store", credentials: "same-origin", signal: abort.signal,
      });
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  // One question at a time; a retry asked for meanwhile (the button, the browser's
  // "online") is asked as soon as the current one ends.
  async function probe() {
    clearTimeout(probeTimer);
    if (probing) {
      probeAgain = true;
      return;
    }
    probing = true;
    const ok = await reachable();
    probing = false;
    if (ok) {
      probeAgain = false;
      found();
      return;
    }
    lost();
    if (probeAgain) {
      probeAgain = false;
      probeTimer = setTimeout(probe, 0);
      return;
    }
    probeWait = Math.min(probeWait * 2, LAST_RETRY_MS);
    probeTimer = setTimeout(probe, probeWait);
  }

  // A live stream dropped: maybe the network, maybe only the stream.
  async function check() {
    if (!offline && !(await reachable())) lost();
  }

  window.addEventListener("offline", lost);
  window.addEventListener("online", () => { if (offline) probe(); });

  // ``fn`` runs each time the box answers again after a loss (e.g. to read the page's data
  // again); returns a function that stops it.
  function onReconnect(fn) {
    whenBack.add(fn);
    return () => whenBack.delete(fn);
  }

  // --- the live stream ---------------------------------------------------------------------

  // Opens the live stream at ``path`` (/api/v1/stream) with ``handlers`` (event kind ->
  // function) and keeps it open: after an error it reconnects, waiting 1 s, 2 s, 4 s… up to
  // 30 s, or at once when the box answers again. The server sends a snapshot on each
  // connection, so a page that redraws from it is true again after any gap. ``onOpen`` and
  // ``onDown`` tell the page the stream's state. Returns ``{close()}``.
  function stream(path, handlers, options) {
    const opts = options || {};
    let source = null;
    let timer = null;
    let wait = FIRST_RETRY_MS;
    let closed = false;

    function connect() {
      clearTimeout(timer);
      if (source) source.close();
      source = new EventSource(path);
      source.addEventListener("open", () => {
        wait = FIRST_RETRY_MS;
        if (opts.onOpen) opts.onOpen();
      });
      for (const [kind, fn] of Object.entries(handlers)) source.addEventListener(kind, fn);
      source.addEventListener("error", () => {
        source.close();
        source = null;
        if (opts.onDown) opts.onDown();
        check();
        timer = setTimeout(connect, wait);
        wait = Math.min(wait * 2, LAST_RETRY_MS);
      });
    }

    const forget = onReconnect(() => {
      if (closed || source) return;
      wait = FIRST_RETRY_MS;
      connect();
    });
    connect();
    return {
      close() {
        closed = true;
        forget();
        clearTimeout(timer);
        if (source) source.close();
        source = null;
      },
    };
  }

  // --- the staff session -------------------------------------------------------------------

  function show(id, visible) {
    const el = $(id);
    if (el) el.hidden = !visible;
  }

  function loginError(text) {
    $("login-error").textContent = text;
    $("login-error").hidden = false;
  }

  // Who is signed in here. Until someone whose role is in ``roles`` is, the login form shows
  // and the page's ``sections`` (ids) are hidden; once one is, ``reveal`` (an id, optional)
  // shows, the name goes in #who-name and the CSRF token is kept for the calls. Resolves to
  // GET /auth/me's answer, or null. Without a connection the page starts again by itself
  // once the box answers.
  async function signIn({ roles, denied, sections, reveal }) {
    const r = await api("GET", "/api/v1/auth/me");
    if (r.status === 0) {
      retryStart();
      return null;
    }
    if (r.status !== 200 || !roles.includes(r.data.role)) {
      for (const id of sections || []) show(id, false);
      show("who", false);
      show("login", true);
      if (r.status === 200) loginError(denied);
      return null;
    }
    session.csrf = r.data.csrf_token;
    session.role = r.data.role;
    session.username = r.data.username;
    session.entity = r.data.entity || null;
    if ($("who-name")) $("who-name").textContent = r.data.username;
    show("who", true);
    show("login", false);
    if (reveal) show(reveal, true);
    askChecklist();
    return r.data;
  }

  // --- the opening check list --------------------------------------------------------------

  // A day the scheduler opened by itself still owes the list people check (internet, power,
  // security…): the first supervisor or orientador in is asked for it, and every such page
  // shows it at the top until somebody confirms it.
  const CHECKLIST_ROLES = ["admin", "supervisor", "receptionist"];

  async function askChecklist() {
    if (!CHECKLIST_ROLES.includes(session.role)) return;
    const r = await api("GET", "/api/v1/day/checklist");
    const shown = $("checklist");
    if (r.status !== 200 || !r.data.pending) {
      if (shown && r.status === 200) shown.remove();
      return;
    }
    if (!shown) (document.querySelector("main") || document.body).prepend(checklistPanel(r.data.items));
  }

  function element(tag, props) {
    return Object.assign(document.createElement(tag), props || {});
  }

  function checklistPanel(items) {
    const panel = element("section", { id: "checklist", className: "panel checklist-panel" });
    panel.setAttribute("aria-labelledby", "checklist-title");
    panel.style.borderColor = "var(--warn, #8a4b00)";
    panel.style.borderWidth = "2px";
    const form = element("form", { id: "checklist-form" });
    for (const item of items) form.appendChild(checklistRow(item));
    const message = element("p", { id: "checklist-message", className: "result" });
    message.setAttribute("role", "status");
    form.append(element("button", { type: "submit", id: "checklist-submit", className: "primary",
                                    textContent: "Confirmar lista de apertura" }), message);
    form.addEventListener("submit", (ev) => confirmChecklist(ev, items, panel));
    panel.append(
      element("h2", { id: "checklist-title", textContent: "Lista de apertura pendiente" }),
      element("p", { textContent: "La jornada se abrió automáticamente. Marque cada punto " +
                                  "verificado o indique por qué se atiende sin él." }),
      form);
    return panel;
  }

  function checklistRow(item) {
    const row = element("div", { className: "checklist-row" });
    const box = element("input", { type: "checkbox", id: `cl-${item.code}` });
    const note = element("input", { id: `cl-${item.code}-note`, maxLength: 200,
                                    placeholder: "Motivo si no se verificó" });
    note.setAttribute("aria-label", `Motivo si no se verificó: ${item.label}`);
    box.addEventListener("change", () => { note.disabled = box.checked; });
    row.append(box, " ", element("label", { htmlFor: box.id, textContent: item.label }), " ", note);
    return row;
  }

  async function confirmChecklist(ev, items, panel) {
    ev.preventDefault();
    const message = $("checklist-message");
    const checks = {};
    for (const item of items) {
      const ok = $(`cl-${item.code}`).checked;
      const note = $(`cl-${item.code}-note`).value.trim();
      if (!ok && !note) {
        message.textContent = `Marque «${item.label}» o indique por qué se atiende sin verificarlo.`;
        message.classList.add("error");
        $(`cl-${item.code}-note`).focus();
        return;
      }
      checks[item.code] = { ok, note: ok ? "" : note };
    }
    const r = await api("POST", "/api/v1/day/checklist", { checks });
    if (r.status === 200 || (r.data && r.data.error === "checklist_done")) {
      panel.remove();
      window.dispatchEvent(new CustomEvent("staff:checklist-confirmed"));
      return;
    }
    message.textContent = errorText(r);
    message.classList.add("error");
  }

  // The page's start could not finish for want of a connection: run it again once the box
  // answers.
  function retryStart() {
    startAgain = true;
  }

  // The login form runs ``boot`` once the PIN is accepted (and it is run again after a start
  // cut short by a lost connection); «Cerrar sesión» ends the session, runs ``beforeLogout``
  // (e.g. to close a live stream) and reloads the page.
  function wireSession(boot, beforeLogout) {
    start = boot;
    const form = $("login-form");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const submit = form.querySelector("[type=submit]");
      if (submit.disabled) return;
      submit.disabled = true;
      try {
        const r = await api("POST", "/api/v1/auth/login",
                            { username: $("login-user").value, password: $("login-pin").value });
        if (r.status !== 200) { loginError(errorText(r)); return; }
        $("login-pin").value = "";
        $("login-error").hidden = true;
      } finally {
        submit.disabled = false;
      }
      boot();
    });
    const logout = $("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        const r = await api("POST", "/api/v1/auth/logout", {});
        if (r.status === 0) return;  // still signed in; the notice says why
        if (beforeLogout) beforeLogout();
        location.reload();
      });
    }
  }

  // A ticket card's last cancellation (reception and supervision): its reason as the card's
  // select names it, and the note when the server sends it (only to the staff who may read
  // it). `when` says who or when, as the page prefers.
  function showCancelled(node, t, when) {
    const list = t.cancellations || [];
    if (!list.length) return;
    const last = list[list.length - 1];
    const select = node.querySelector('[data-field="cancel-reason"]');
    const named = Array.from(select.options).find((o) => o.value === last.reason);
    const box = node.querySelector(".card-cancelled");
    box.textContent = `Anulado ${when(last)}: ${named ? named.textContent : last.reason}` +
      (last.note ? ` — «${last.note}»` : "");
    box.hidden = false;
  }

  return {
    $, session, api, errorText, newKey, stream, onReconnect, signIn, retryStart, wireSession,
    showCancelled, isOffline: () => offline,
  };
})();
