// The citizen's kiosk: entity → service → preferential category → optional DNI → ticket.
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
  };
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
  let waiting = {};
  let language = opts.language;
  let choice = {};
  let idleTimer = null;
  let busy = false;

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

  function message(title, detail) {
    $("h-message").textContent = title;
    $("message-detail").textContent = detail || "";
    show("s-message");
  }

  async function refresh() {
    const [cat, queues] = await Promise.all([api("GET", "/api/v1/catalog"),
                                             api("GET", "/api/v1/queues")]);
    if (cat.status === 401 || cat.status === 403) throw new Error("not_enrolled");
    if (cat.status !== 200) throw new Error("offline");
    catalog = cat.data;
    waiting = {};
    if (queues.status === 200) {
      for (const q of queues.data.queues) waiting[q.code] = q.waiting;
    }
  }

  function queueOf(code) { return catalog.queues.find((q) => q.code === code); }

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
    const list = $("entities");
    list.replaceChildren();
    for (const e of catalog.entities) {
      const queues = catalog.queues.filter((q) => q.entity === e.code);
      const services = catalog.services.filter((s) => s.entity === e.code);
      if (!services.length) continue;
      const open = queues.some((q) => q.is_open);
      const count = queues.reduce((n, q) => n + (waiting[q.code] || 0), 0);
      const reason = queues.map((q) => q.closed_reason).find(Boolean) || t("no_reason");
      const note = open ? t("waiting_count", { n: count })
        : `${t("unavailable")}: ${reason}`;
      const li = button(
        `<span class="swatch"></span>` +
        (e.logo ? `<img class="logo" alt="" src="/kiosk/logos/${encodeURIComponent(e.logo)}">` : "") +
        `<span class="name">${esc(e.short_name)}</span>` +
        `<span class="full">${esc(e.name)}</span><span class="note">${esc(note)}</span>`,
        () => chooseEntity(e), !open);
      li.firstChild.dataset.entity = e.code;
      li.querySelector(".swatch").style.setProperty("--entity", e.colour);
      list.appendChild(li);
    }
    show("s-entities");
  }

  function chooseEntity(entity) {
    choice = { entity };
    $("services-entity").textContent = entity.short_name;
    const services = catalog.services.filter((s) => s.entity === entity.code);
    const filter = services.length > opts.filterFrom;
    $("filter").hidden = !filter;
    $("filter-text").value = "";
    renderServices("");
    show("s-services");
  }

  function normalise(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function renderServices(filterText) {
    const list = $("services");
    list.replaceChildren();
    const words = normalise(filterText).split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const s of catalog.services.filter((x) => x.entity === choice.entity.code)) {
      const name = normalise(s.name);
      if (!words.every((w) => name.includes(w))) continue;
      const q = queueOf(s.queue);
      const note = q.is_open ? "" : `${t("unavailable")}: ${q.closed_reason || t("no_reason")}`;
      const li = button(`<span class="name">${esc(s.name)}</span>` +
                        (note ? `<span class="note">${esc(note)}</span>` : ""),
                        () => chooseService(s), !q.is_open);
      li.firstChild.dataset.service = s.id;
      list.appendChild(li);
      shown += 1;
    }
    $("no-match").hidden = shown > 0;
  }

  function buildLetters() {
    const box = $("letters");
    const keys = "ABCDEFGHIJKLMNÑOPQRSTUVWXYZ".split("").concat(["space", "del"]);
    for (const k of keys) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.key = k;
      if (k === "space") { b.dataset.i18n = "space"; b.textContent = t("space"); b.className = "wide"; }
      else if (k === "del") { b.dataset.i18n = "delete"; b.textContent = t("delete"); b.className = "wide"; }
      else b.textContent = k;
      b.addEventListener("click", () => {
        const input = $("filter-text");
        if (k === "del") input.value = input.value.slice(0, -1);
        else if (k === "space") input.value += " ";
        else input.value += k;
        renderServices(input.value);
      });
      box.appendChild(b);
    }
  }

  function chooseService(service) {
    choice.service = service;
    const list = $("categories");
    list.replaceChildren();
    const categories = catalog.priorities.filter((p) => p.preferential);
    for (const p of categories) {
      const li = button(icon(p.code) + `<span class="name">${esc(categoryName(p))}</span>`,
                        () => chooseCategory(p.code));
      li.firstChild.dataset.category = p.code;
      list.appendChild(li);
    }
    const no = button(icon("no") + `<span class="name">${esc(t("no"))}</span>`,
                      () => chooseCategory(null));
    no.firstChild.dataset.category = "none";
    list.appendChild(no);
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

  async function issue(withDocument) {
    if (busy) return;  // a double tap never issues twice; the key makes retries safe too
    busy = true;
    show("s-issuing");
    const data = { service_id: choice.service.id, language };
    if (choice.priority) data.priority = choice.priority;
    if (withDocument) { data.document = withDocument; data.document_type = "dni"; }
    try {
      const r = await api("POST", "/api/v1/tickets", data, { "Idempotency-Key": choice.key });
      if (r.status === 200 || r.status === 201) return showTicket(r.data);
      const code = r.data && r.data.error;
      if (code === "invalid_document") {
        $("document-error").textContent = t("invalid_document");
        $("document-error").hidden = false;
        choice.key = newKey();
        return show("s-document");
      }
      refuse(code, r.data || {});
    } catch {
      message(t("offline"));
    } finally {
      busy = false;
    }
  }

  function refuse(code, data) {
    const known = ["after_closing", "queue_closed", "rate_limited", "queue_full", "day_not_open"];
    const key = known.includes(code) ? `refused_${code}` : "refused_other";
    message(t(key, { reason: data.reason || t("no_reason") }), t("see_orientador"));
  }

  function showTicket(ticket) {
    $("ticket-label").textContent = ticket.label;
    $("ticket-service").textContent = `${ticket.entity_name} · ${ticket.service_name}`;
    const p = catalog.priorities.find((x) => x.code === ticket.priority);
    $("ticket-category").hidden = !ticket.preferential;
    $("ticket-category").textContent = ticket.preferential && p ? categoryName(p) : "";
    $("ticket-ahead").textContent = ticket.ahead == null ? "—" : String(ticket.ahead);
    $("ticket-wait").textContent = ticket.estimated_wait_minutes
      ? t("minutes", { n: ticket.estimated_wait_minutes }) : t("soon");
    $("ticket-qr").src = `${ticket.status_url}/qr.svg`;
    show("s-ticket");
    followPrint(ticket.print);
  }

  async function followPrint(job) {
    const out = $("print-status");
    out.className = "print";
    if (!job) { out.textContent = ""; return; }
    out.textContent = t("printing");
    const shown = $("ticket-label").textContent;
    // "pending" means the printer reported a problem: the job waits for staff to fix it.
    for (let i = 0; i < 40 && job.status === "queued"; i++) {
      await new Promise((r) => setTimeout(r, 250));
      if ($("ticket-label").textContent !== shown || $("s-ticket").hidden) return;
      const r = await api("GET", `/api/v1/print-jobs/${encodeURIComponent(job.id)}`);
      if (r.status !== 200) break;
      job = r.data;
    }
    if (job.status === "printed") {
      out.textContent = t("printed");
    } else {
      out.textContent = t("print_failed");
      out.className = "print failed";
    }
  }

  function home() {
    choice = {};
    start(false);
  }

  async function start(first) {
    if (!token) { message(t("not_enrolled")); return; }
    try {
      await refresh();
      renderEntities();
    } catch (e) {
      message(t(e.message === "not_enrolled" ? "not_enrolled" : "offline"));
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

  function wire() {
    for (const b of document.querySelectorAll("button.lang")) {
      b.addEventListener("click", async () => {
        await loadTexts(b.dataset.lang);
        if (!$("s-entities").hidden && catalog) renderEntities();
        else if (!$("s-services").hidden) renderServices($("filter-text").value);
        else if (!$("s-category").hidden) chooseService(choice.service);
      });
    }
    document.addEventListener("click", (ev) => {
      const action = ev.target.closest("[data-action]");
      if (!action) return;
      const what = action.dataset.action;
      if (what === "home") home();
      else if (what === "services") show("s-services");
      else if (what === "category") show("s-category");
    });
    for (const b of document.querySelectorAll("[data-digit]")) {
      b.addEventListener("click", () => typeDigit(b.dataset.digit));
    }
    $("skip-document").addEventListener("click", () => issue(null));
    $("send-document").addEventListener("click", () => {
      const number = $("document-number").textContent;
      if (number.length < 8) {
        $("document-error").textContent = t("invalid_document");
        $("document-error").hidden = false;
        return;
      }
      issue(number);
    });
    for (const kind of ["pointerdown", "keydown"]) {
      document.addEventListener(kind, touched, { passive: true });
    }
    setInterval(() => {
      if (!$("s-entities").hidden && !busy) start();
    }, 30000);
  }

  async function main() {
    enrol();
    await loadTexts(opts.language);
    buildLetters();
    wire();
    touched();
    start(true);
  }

  main();
})();
