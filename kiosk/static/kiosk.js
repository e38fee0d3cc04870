// The citizen's kiosk: entity → service (or a search across every service) → preferential
// category → optional DNI → ticket.
// Enrolment: the page is opened once as /kiosk#device=TOKEN; the token is kept in
// localStorage and removed from the address. Every call goes to /api/v1 with that token.
"use strict";

(function () {
  const body = document.body;
  const opts = {
    idle: Number(body.dataset.idleSeconds) * 1000,
    askDocument: body.dataset.askDocument === "true",
    filterFrom: Number(body.dataset.filterFrom),
    language: body.dataset.language || "es",
    centre: body.dataset.centre,
    entityOrder: (body.dataset.entityOrder || "").split(" ").filter(Boolean),
    ticketSeconds: Number(body.dataset.ticketSeconds) || 20,
  };
  const Search = window.KioskSearch;
  const ALWAYS = { normal: true, preferential: true, reason: null, message: null };
  const MAX_RESULTS = 30;
  const ICONS = {
    gestante: '<path d="M32 6a6 6 0 1 1 0 12a6 6 0 0 1 0-12zM26 22h10c6 0 10 6 10 13s-5 11-9 11v12h-8V40l-5-2z"/>',
    nino: '<path d="M22 6a6 6 0 1 1 0 12a6 6 0 0 1 0-12zM16 22h12l4 16-6 2-2-6v24h-8V34l-4 6-5-3zM44 24a5 5 0 1 1 0 10a5 5 0 0 1 0-10zM39 36h10l2 10h-3v12h-8V46h-3z"/>',
    adulto_mayor: '<path d="M28 6a6 6 0 1 1 0 12a6 6 0 0 1 0-12zM22 22h11l5 14 6-2v24h-3V40l-6 2-3-8v24h-8V40l-5 6-4-3 7-13z"/>',
    discapacidad: '<path d="M26 4a6 6 0 1 1 0 12a6 6 0 0 1 0-12zM22 20h8v12h12v6H30v4h-8zM20 30v6a10 10 0 1 0 16 8h6a16 16 0 1 1-22-14zM40 40h6l6 14-5 2-5-10h-2z"/>',
    no: '<path d="M32 8a24 24 0 1 1 0 48a24 24 0 0 1 0-48zm0 6a18 18 0 0 0-14 29L43 18a18 18 0 0 0-11-4zm14 7L21 46a18 18 0 0 0 25-25z"/>',
  };

  let token = null;
  let texts = {};
  let catalog = null;
  let queueInfo = {};
  let searchIndex = [];
  let language = opts.language;
  let choice = {};
  let idleTimer = null;
  let busy = false;
  let shown = null;        // what the current screen shows, to redraw it in another language
  let ticketTimer = null;
  let ticketShownAt = 0;

  const $ = (id) => document.getElementById(id);
  const t = (key, values) => {
    let text = texts[key] || key;
    for (const [k, v] of Object.entries(values || {})) text = text.replace(`{${k}}`, v);
    return text;
  };

  function enrol() {
    const found = /(?:^|[#&])device=([^&]+)/.exec(location.hash);
    if (found) {
      localStorage.setItem("mt_device", decodeURIComponent(found[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    token = localStorage.getItem("mt_device");
  }

  async function api(method, path, data, extraHeaders) {
    const headers = Object.assign({ Authorization: `Bearer ${token}` }, extraHeaders || {});
    if (data !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: data === undefined ? undefined : JSON.stringify(data),
      cache: "no-store",
    });
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    return { status: response.status, data: json };
  }

  async function loadTexts(lang) {
    const response = await fetch(`/kiosk/i18n/${lang}.json`);
    texts = await response.json();
    language = lang;
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n, { centre: opts.centre });
    }
    for (const b of document.querySelectorAll("button.lang")) {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    }
  }

  function show(id) {
    for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== id;
    const heading = document.querySelector(`#${id} h1`);
    if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
    window.scrollTo(0, 0);
  }

  // A refusal or problem: keys of the texts, so a language switch redraws it.
  function message(titleKey, detailKey, values) {
    shown = () => message(titleKey, detailKey, values);
    $("h-message").textContent = t(titleKey, values);
    $("message-detail").textContent = detailKey ? t(detailKey) : "";
    show("s-message");
  }

  async function refresh() {
    const [cat, queues] = await Promise.all([api("GET", "/api/v1/catalog"),
                                             api("GET", "/api/v1/queues")]);
    if (cat.status === 401 || cat.status === 403) throw new Error("not_enrolled");
    if (cat.status !== 200) throw new Error("offline");
    catalog = cat.data;
    queueInfo = {};
    if (queues.status === 200) {
      for (const q of queues.data.queues) queueInfo[q.code] = q;
    }
    const byCode = Object.fromEntries(catalog.entities.map((e) => [e.code, e]));
    searchIndex = Search.index(catalog.services, byCode);
  }

  function queueOf(code) { return catalog.queues.find((q) => q.code === code); }

  // Configured entities first, then busiest first (the catalogue's rank).
  function rankOf(code) {
    const set = opts.entityOrder.indexOf(code);
    if (set >= 0) return set;
    const e = catalog.entities.find((x) => x.code === code);
    return opts.entityOrder.length + (e && e.rank != null ? e.rank : 999);
  }

  function issuingOf(code) {
    const q = queueInfo[code];
    return (q && q.issuing) || ALWAYS;
  }

  // Why a queue issues no normal ticket now, for the citizen, before any step.
  function issuingNote(iss) {
    const key = `issuing_${iss.reason}`;
    const why = texts[key] ? t(key) : (language === "es" && iss.message) || t("issuing_after_closing");
    return iss.preferential ? `${why}. ${t("issuing_preferential_only")}.`
      : `${why}. ${t("issuing_see_orientador")}.`;
  }

  // The note and state of a button leading to the given queues.
  function availability(queues) {
    const open = queues.filter((q) => q.is_open);
    if (!open.length) {
      const reason = queues.map((q) => q.closed_reason).find(Boolean) || t("no_reason");
      return { disabled: true, note: `${t("unavailable")}: ${reason}` };
    }
    const states = open.map((q) => issuingOf(q.code));
    if (states.some((i) => i.normal)) return { disabled: false, note: "" };
    return { disabled: !states.some((i) => i.preferential), full: true,
             note: issuingNote(states.find((i) => i.preferential) || states[0]) };
  }

  function button(html, onClick, disabled) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.innerHTML = html;
    b.disabled = !!disabled;
    if (!disabled) b.addEventListener("click", onClick);
    li.appendChild(b);
    return li;
  }

  function esc(text) {
    const d = document.createElement("div");
    d.textContent = text == null ? "" : String(text);
    return d.innerHTML;
  }

  function renderEntities() {
    shown = renderEntities;
    const list = $("entities");
    list.replaceChildren();
    const entities = catalog.entities.slice().sort((a, b) => rankOf(a.code) - rankOf(b.code));
    for (const e of entities) {
      const queues = catalog.queues.filter((q) => q.entity === e.code);
      if (!catalog.services.some((s) => s.entity === e.code)) continue;
      const state = availability(queues);
      const count = queues.reduce((n, q) => n + ((queueInfo[q.code] || {}).waiting || 0), 0);
      const note = state.note || t("waiting_count", { n: count });
      const li = button(
        `<span class="swatch"></span>` +
        (e.logo ? `<img class="logo" alt="" src="/kiosk/logos/${encodeURIComponent(e.logo)}">` : "") +
        `<span class="name">${esc(e.short_name)}</span>` +
        `<span class="full">${esc(e.name)}</span><span class="note">${esc(note)}</span>`,
        () => chooseEntity(e), state.disabled);
      li.firstChild.dataset.entity = e.code;
      li.firstChild.classList.toggle("full-today", !!state.full);
      li.querySelector(".swatch").style.setProperty("--entity", e.colour);
      list.appendChild(li);
    }
    show("s-entities");
    document.dispatchEvent(new CustomEvent("kiosk:start", { detail: catalog }));
  }

  function chooseEntity(entity) {
    choice = { entity };
    $("services-entity").textContent = entity.short_name;
    const services = catalog.services.filter((s) => s.entity === entity.code);
    const filter = services.length > opts.filterFrom;
    $("filter").hidden = !filter;
    $("s-services").classList.toggle("filtering", filter);
    $("filter-text").value = "";
    renderServices();
    show("s-services");
  }

  function serviceButton(s, withEntity) {
    const state = availability([queueOf(s.queue)]);
    const entity = withEntity ? catalog.entities.find((e) => e.code === s.entity) : null;
    const li = button(`<span class="name">${esc(s.name)}</span>` +
                      (entity ? `<span class="full">${esc(entity.short_name)}</span>` : "") +
                      (state.note ? `<span class="note">${esc(state.note)}</span>` : ""),
                      () => chooseService(s, withEntity), state.disabled);
    li.firstChild.dataset.service = s.id;
    li.firstChild.classList.toggle("full-today", !!state.full);
    return li;
  }

  function renderServices() {
    shown = renderServices;
    const list = $("services");
    list.replaceChildren();
    const own = searchIndex.filter((i) => i.service.entity === choice.entity.code);
    const text = $("filter-text").value;
    const found = text.trim() ? Search.search(text, own, rankOf) : own.map((i) => i.service);
    for (const s of found) list.appendChild(serviceButton(s, false));
    $("no-match").hidden = found.length > 0;
  }

  function openSearch() {
    choice = {};
    $("search-text").value = "";
    renderSearch();
    show("s-search");
  }

  function renderSearch() {
    shown = renderSearch;
    const text = $("search-text").value;
    const found = text.trim() ? Search.search(text, searchIndex, rankOf) : [];
    const list = $("search-results");
    list.replaceChildren();
    for (const s of found.slice(0, MAX_RESULTS)) list.appendChild(serviceButton(s, true));
    $("search-hint").hidden = !!text.trim();
    $("search-none").hidden = !text.trim() || found.length > 0;
    $("search-more").hidden = found.length <= MAX_RESULTS;
  }

  function buildKeyboards() {
    Search.keyboard($("letters"), (k) => {
      $("filter-text").value = Search.withKey($("filter-text").value, k);
      renderServices();
    }, t);
    Search.keyboard($("search-letters"), (k) => {
      $("search-text").value = Search.withKey($("search-text").value, k);
      renderSearch();
    }, t);
  }

  // The category question; with no normal ticket left today in its queue only the
  // preferential categories stay, with the reason shown.
  function chooseService(service, fromSearch) {
    if (fromSearch !== undefined) {
      choice.fromSearch = fromSearch;
      choice.entity = catalog.entities.find((e) => e.code === service.entity);
    }
    choice.service = service;
    shown = () => chooseService(service);
    const iss = issuingOf(service.queue);
    const list = $("categories");
    list.replaceChildren();
    for (const p of catalog.priorities.filter((x) => x.preferential)) {
      const li = button(icon(p.code) + `<span class="name">${esc(categoryName(p))}</span>`,
                        () => chooseCategory(p.code), !iss.preferential);
      li.firstChild.dataset.category = p.code;
      list.appendChild(li);
    }
    const no = button(icon("no") + `<span class="name">${esc(t("no"))}</span>`,
                      () => chooseCategory(null), !iss.normal);
    no.firstChild.dataset.category = "none";
    list.appendChild(no);
    $("category-note").hidden = iss.normal;
    $("category-note").textContent = iss.normal ? "" : issuingNote(iss);
    show("s-category");
  }

  function icon(code) {
    const path = ICONS[code] || ICONS.no;
    return `<svg class="icon" viewBox="0 0 64 64" aria-hidden="true" focusable="false">${path}</svg>`;
  }

  function categoryName(p) {
    return p[`name_${language}`] || p.name_es;
  }

  function chooseCategory(code) {
    choice.priority = code;
    choice.document = "";
    choice.key = newKey();
    if (opts.askDocument) {
      $("document-number").textContent = "";
      $("document-error").hidden = true;
      shown = null;
      show("s-document");
    } else {
      issue();
    }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `k${Date.now()}${Math.random().toString(16).slice(2)}`;
  }

  function typeDigit(d) {
    const out = $("document-number");
    if (d === "del") out.textContent = out.textContent.slice(0, -1);
    else if (out.textContent.length < 9) out.textContent += d;
    $("document-error").hidden = true;
  }

  function documentError() {
    $("document-error").textContent = t("invalid_document");
    $("document-error").hidden = false;
  }

  async function issue(withDocument) {
    if (busy) return;  // a double tap never issues twice; the key makes retries safe too
    busy = true;
    shown = null;
    show("s-issuing");
    const data = { service_id: choice.service.id, language };
    if (choice.priority) data.priority = choice.priority;
    if (withDocument) { data.document = withDocument; data.document_type = "dni"; }
    try {
      const r = await api("POST", "/api/v1/tickets", data, { "Idempotency-Key": choice.key });
      if (r.status === 200 || r.status === 201) return showTicket(r.data);
      const code = r.data && r.data.error;
      if (code === "invalid_document") {
        documentError();
        choice.key = newKey();
        return show("s-document");
      }
      refuse(code, r.data || {});
    } catch {
      message("offline");
    } finally {
      busy = false;
    }
  }

  function refuse(code, data) {
    const known = ["after_closing", "after_hours", "queue_closed", "rate_limited", "queue_full",
                   "day_not_open"];
    const key = known.includes(code) ? `refused_${code}` : "refused_other";
    message(key, "see_orientador", { reason: data.reason || t("no_reason") });
  }

  function showTicket(ticket) {
    fillTicket(ticket);
    show("s-ticket");
    ticketShownAt = Date.now();
    let left = opts.ticketSeconds;
    const tick = () => { $("ticket-done").textContent = t("done_countdown", { n: left }); };
    tick();
    clearInterval(ticketTimer);
    ticketTimer = setInterval(() => {
      left -= 1;
      if (left <= 0) home(); else tick();
    }, 1000);
    shown = () => { fillTicket(ticket); tick(); };
    followPrint(ticket.print);
  }

  function fillTicket(ticket) {
    $("ticket-label").textContent = ticket.label;
    $("ticket-service").textContent = `${ticket.entity_name} · ${ticket.service_name}`;
    const p = catalog.priorities.find((x) => x.code === ticket.priority);
    $("ticket-category").hidden = !ticket.preferential;
    $("ticket-category").textContent = ticket.preferential && p ? categoryName(p) : "";
    $("ticket-ahead").textContent = ticket.ahead == null ? "—" : String(ticket.ahead);
    $("ticket-wait").textContent = waitText(ticket);
    $("ticket-qr").src = `${ticket.status_url}/qr.svg`;
    const out = $("print-status");
    if (out.dataset.key) out.textContent = t(out.dataset.key);
  }

  // Before any módulo serves the queue the wait has no figure: the time attention starts.
  function waitText(ticket) {
    const starts = ticket.attention_starts_at;
    if (starts) return t("kiosk_starts_at", { time: String(starts).slice(11, 16) });
    return ticket.estimated_wait_minutes
      ? t("minutes", { n: ticket.estimated_wait_minutes }) : t("soon");
  }

  function printStatus(key, failed) {
    const out = $("print-status");
    out.className = failed ? "print failed" : "print";
    out.dataset.key = key || "";
    out.textContent = key ? t(key) : "";
  }

  async function followPrint(job) {
    if (!job) { printStatus(""); return; }
    printStatus("printing");
    const label = $("ticket-label").textContent;
    // "pending" means the printer reported a problem: the job waits for staff to fix it.
    for (let i = 0; i < 40 && job.status === "queued"; i++) {
      await new Promise((r) => setTimeout(r, 250));
      if ($("ticket-label").textContent !== label || $("s-ticket").hidden) return;
      const r = await api("GET", `/api/v1/print-jobs/${encodeURIComponent(job.id)}`);
      if (r.status !== 200) break;
      job = r.data;
    }
    if ($("ticket-label").textContent !== label || $("s-ticket").hidden) return;
    if (job.status === "printed") printStatus("printed");
    else printStatus("print_failed", true);
  }

  // Nothing of the previous citizen's ticket stays on screen or in the page.
  function clearTicket() {
    clearInterval(ticketTimer);
    ticketTimer = null;
    for (const id of ["ticket-label", "ticket-service", "ticket-category", "ticket-ahead",
                      "ticket-wait"]) $(id).textContent = "";
    $("ticket-qr").removeAttribute("src");
    printStatus("");
  }

  function home() {
    choice = {};
    clearTicket();
    start(false);
  }

  async function start(first) {
    if (!token) { message("not_enrolled"); return; }
    try {
      await refresh();
      renderEntities();
    } catch (e) {
      message(e.message === "not_enrolled" ? "not_enrolled" : "offline");
      if (first !== undefined) setTimeout(() => start(), 10000);
    }
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(async () => {
      if ($("s-entities").hidden || language !== opts.language) {
        await loadTexts(opts.language);
        home();
      }
    }, opts.idle);
  }

  // The next citizen touching the screen beside the ticket starts afresh (a touch in the
  // first moment after it appears is the previous tap's, not a new person's).
  function touchedTicketScreen(ev) {
    if ($("s-ticket").hidden || Date.now() - ticketShownAt < 1500) return;
    if (ev.target.closest(".ticket, .languages, #ticket-done")) return;
    home();
  }

  function wireLanguages() {
    for (const b of document.querySelectorAll("button.lang")) {
      b.addEventListener("click", async () => {
        await loadTexts(b.dataset.lang);
        if (!$("document-error").hidden) documentError();
        if (shown && catalog) shown();
      });
    }
  }

  function wire() {
    wireLanguages();
    document.addEventListener("click", (ev) => {
      const action = ev.target.closest("[data-action]");
      if (!action) { touchedTicketScreen(ev); return; }
      const what = action.dataset.action;
      if (what === "home") home();
      else if (what === "services") {
        if (choice.fromSearch) { shown = renderSearch; show("s-search"); }
        else { shown = renderServices; show("s-services"); }
      } else if (what === "category") chooseService(choice.service);
    });
    $("search-open").addEventListener("click", openSearch);
    for (const b of document.querySelectorAll("[data-digit]")) {
      b.addEventListener("click", () => typeDigit(b.dataset.digit));
    }
    $("skip-document").addEventListener("click", () => issue(null));
    $("send-document").addEventListener("click", () => {
      const number = $("document-number").textContent;
      if (number.length < 8) { documentError(); return; }
      issue(number);
    });
    for (const kind of ["pointerdown", "keydown"]) {
      document.addEventListener(kind, touched, { passive: true });
    }
    setInterval(() => {
      if (!$("s-entities").hidden && !busy) start();
    }, 30000);
  }

  // What kiosk-citas.js ("Tengo cita") reuses: the same calls, messages and ticket screen.
  // show(id, redraw): redraw is what a language switch redraws on that screen (none: nothing).
  window.kiosk = {
    api, t, newKey, message, refuse, showTicket, home,
    show(id, redraw) { shown = redraw || null; show(id); },
    language: () => language,
  };

  async function main() {
    enrol();
    await loadTexts(opts.language);
    buildKeyboards();
    wire();
    touched();
    start(true);
  }

  main();
})();
