// The orientador's console: issue on behalf of a citizen, find a ticket and act on it, see
// the queues and printer alerts live. The calls, the sign-in, the «Sin conexión» state and
// the live stream's reconnection are the staff pages' own (staff.js, window.Staff).
"use strict";

(function (Staff) {
  const { $, api, errorText } = Staff;
  const ROLES = ["admin", "supervisor", "receptionist"];
  let catalog = null;
  let visit = [];
  let busy = false;
  let pending = null;  // {body, key} of an issue whose answer never came: a retry reuses its key
  let stream = null;
  let refreshTimer = null;

  function option(value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  async function boot() {
    const me = await Staff.signIn({ roles: ROLES, denied: "Su rol no corresponde a la recepción.",
                                    sections: ["console"], reveal: "console" });
    if (!me) return;
    const cat = await api("GET", "/api/v1/catalog");
    if (cat.status !== 200) {
      if (cat.status === 0) Staff.retryStart();  // read it all again once the box answers
      return;
    }
    catalog = cat.data;
    fillIssueForm();
    dataChanged();
    await Promise.all([refreshQueues(), refreshPrinters()]);
    listen();
  }

  function servicesOf(entity) {
    return catalog.services.filter((s) => s.entity === entity);
  }

  function serviceName(id) {
    const s = catalog.services.find((x) => x.id === id);
    return s ? `${s.name}` : String(id);
  }

  function fillIssueForm() {
    const entity = $("issue-entity");
    entity.replaceChildren();
    for (const e of catalog.entities) entity.appendChild(option(e.code, e.short_name));
    const visitSel = $("visit-service");
    visitSel.replaceChildren();
    for (const e of catalog.entities) {
      const group = document.createElement("optgroup");
      group.label = e.short_name;
      for (const s of servicesOf(e.code)) group.appendChild(option(s.id, s.name));
      visitSel.appendChild(group);
    }
    const priority = $("issue-priority");
    priority.replaceChildren();
    for (const p of catalog.priorities) priority.appendChild(option(p.code, p.name_es));
    fillServices();
  }

  function fillServices() {
    const select = $("issue-service");
    select.replaceChildren();
    for (const s of servicesOf($("issue-entity").value)) {
      const q = catalog.queues.find((x) => x.code === s.queue);
      select.appendChild(option(s.id, q && !q.is_open ? `${s.name} (cola cerrada)` : s.name));
    }
  }

  function renderVisit() {
    const list = $("visit-list");
    list.replaceChildren();
    visit.forEach((id, i) => {
      const li = document.createElement("li");
      li.textContent = serviceName(id) + " ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary small";
      remove.textContent = "Quitar";
      remove.addEventListener("click", () => { visit.splice(i, 1); renderVisit(); });
      li.appendChild(remove);
      list.appendChild(li);
    });
    $("visit-add").disabled = visit.length >= 4;
  }

  function appointmentIso(time) {
    const [h, m] = time.split(":").map(Number);
    const when = new Date();
    when.setHours(h, m, 0, 0);
    return when.toISOString();
  }

  async function issue(ev) {
    ev.preventDefault();
    if (busy || !catalog) return;
    busy = true;
    $("issue-submit").disabled = true;
    const out = $("issue-result");
    out.className = "result";
    out.textContent = "Emitiendo…";
    const data = { service_id: Number($("issue-service").value), priority: $("issue-priority").value };
    if (visit.length) data.visit = visit.slice();
    const number = $("issue-document").value.trim();
    if (number) { data.document = number; data.document_type = $("issue-doctype").value; }
    const name = $("issue-name").value.trim();
    if (name) data.name = name;
    const p = catalog.priorities.find((x) => x.code === data.priority);
    if (p && p.appointment) {
      if (!$("issue-appointment").value) {
        out.textContent = "Indique la hora de la cita.";
        out.className = "result error";
        busy = false; $("issue-submit").disabled = false;
        return;
      }
      data.appointment = appointmentIso($("issue-appointment").value);
    }
    const body = JSON.stringify(data);
    if (!pending || pending.body !== body) pending = { body, key: Staff.newKey() };
    try {
      const r = await api("POST", "/api/v1/tickets", data, { "Idempotency-Key": pending.key });
      if (r.status !== 0) pending = null;
      if (r.status === 201 || r.status === 200) {
        const printed = r.data.print ? ` · impresión: ${printWord(r.data.print.status)}` : "";
        out.textContent = `Turno ${r.data.label} emitido (${r.data.ahead} antes)${printed}.`;
        out.dataset.label = r.data.label;
        visit = [];
        renderVisit();
        $("issue-document").value = "";
        $("issue-name").value = "";
      } else {
        out.textContent = errorText(r);
        out.className = "result error";
      }
    } finally {
      busy = false;
      $("issue-submit").disabled = false;
    }
  }

  function printWord(status) {
    return { queued: "en cola", printed: "impreso", pending: "pendiente (revise la impresora)" }[status] || status;
  }

  async function find(ev) {
    if (ev) ev.preventDefault();
    const text = $("find-text").value.trim();
    if (!text || !catalog) return;
    // A label as heard or read ("RN-005", "rn 5", "RN005", "5"); the server normalises it.
    const byLabel = /^[A-Za-z]{0,3}[\s._-]*\d{1,4}$/.test(text);
    const query = byLabel ? `label=${encodeURIComponent(text)}`
      : `document=${encodeURIComponent(text)}`;
    const r = await api("GET", `/api/v1/tickets?${query}`);
    const box = $("found");
    box.replaceChildren();
    if (r.status !== 200) { $("find-message").textContent = errorText(r); return; }
    $("find-message").textContent = r.data.tickets.length
      ? `${r.data.tickets.length} turno(s) encontrado(s).` : "No se encontró ningún turno de hoy.";
    for (const t of r.data.tickets) box.appendChild(card(t));
  }

  const STATUS = { waiting: "En espera", called: "Llamado", serving: "En atención", done: "Atendido",
                   no_show: "No se presentó", cancelled: "Anulado", transferred: "Derivado",
                   expired: "Sin atender al cierre" };

  function card(t) {
    const node = $("ticket-card").content.firstElementChild.cloneNode(true);
    node.dataset.uid = t.uid;
    node.querySelector(".card-label").textContent = t.label;
    const who = [t.document ? `${(t.document_type || "dni").toUpperCase()} ${t.document}` : "", t.name || ""].filter(Boolean).join(" · ");
    node.querySelector(".card-info").textContent =
      `${STATUS[t.status] || t.status} · ${t.entity_name} · ${t.service_name} · ` +
      `${t.preferential ? "Preferente" : "Normal"}${who ? " · " + who : ""}`;
    fillFacts(node, t);
    fillCancelled(node, t);
    const prio = node.querySelector('[data-field="priority"]');
    for (const p of catalog.priorities) prio.appendChild(option(p.code, p.name_es));
    prio.value = t.priority;
    const svc = node.querySelector('[data-field="service"]');
    fillTransfer(svc, "", t.service_id);
    node.querySelector('[data-field="service-filter"]').addEventListener("input", (ev) => {
      fillTransfer(svc, ev.target.value, t.service_id);
    });
    node.addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-act]");
      if (b) act(t, b.dataset.act, node, b);
    });
    return node;
  }

  // What the orientador tells the citizen: category, when the ticket was issued (the centre's
  // clock, whatever the laptop's zone), how many are ahead and how long it should take.
  function fillFacts(node, t) {
    const fact = (name, text) => { node.querySelector(`[data-fact="${name}"]`).textContent = text; };
    const p = catalog.priorities.find((x) => x.code === t.priority);
    fact("category", p ? p.name_es : t.priority);
    fact("issued", t.issued_at ? localTime(t.issued_at) : "—");
    const waiting = t.status === "waiting";
    fact("ahead", waiting && t.ahead != null ? String(t.ahead) : "—");
    let wait = "—";
    if (waiting && t.attention_starts_at) wait = `La atención empieza a las ${localTime(t.attention_starts_at)}`;
    else if (waiting && t.estimated_wait_minutes != null) wait = `${t.estimated_wait_minutes} min aprox.`;
    fact("wait", wait);
  }

  function fillCancelled(node, t) {
    Staff.showCancelled(node, t, (last) => `a las ${localTime(last.at)}`);
  }

  function localTime(iso) {
    const zone = (catalog.centre && catalog.centre.timezone) || "America/Lima";
    return new Date(iso).toLocaleTimeString("es-PE", { hour: "2-digit", minute: "2-digit",
                                                       hour12: false, timeZone: zone });
  }

  // Accents and case do not matter when looking for a service ("migracion" finds
  // "Migraciones", "dni" finds "DNIe").
  function fold(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // The services to transfer to, one group per entity, only those matching ``filter`` (by
  // service, entity or queue); the ticket's own service stays so the select is never empty.
  function fillTransfer(select, filter, currentId) {
    const words = fold(filter).split(/\s+/).filter(Boolean);
    const chosen = select.value ? Number(select.value) : currentId;
    select.replaceChildren();
    for (const e of catalog.entities) {
      const group = document.createElement("optgroup");
      group.label = e.short_name;
      for (const s of servicesOf(e.code)) {
        const haystack = fold(`${s.name} ${e.short_name} ${e.name || ""} ${s.queue}`);
        if (s.id !== currentId && !words.every((w) => haystack.includes(w))) continue;
        group.appendChild(option(s.id, s.name));
      }
      if (group.children.length) select.appendChild(group);
    }
    const ids = Array.from(select.options, (o) => Number(o.value));
    const first = ids.find((id) => id !== currentId);
    select.value = String(words.length && first !== undefined ? first
      : (ids.includes(chosen) ? chosen : currentId));
  }

  async function act(t, what, node, buttonEl) {
    if (buttonEl.disabled) return;
    const message = node.querySelector(".card-message");
    let data = {};
    if (what === "cancel") {
      const reason = node.querySelector('[data-field="cancel-reason"]').value;
      if (!reason) {
        message.className = "card-message error";
        message.textContent = "Elija el motivo de la anulación.";
        return;
      }
      if (!window.confirm(`¿Anular el turno ${t.label}?`)) return;
      const note = node.querySelector('[data-field="cancel-note"]').value.trim();
      data = note ? { reason, note } : { reason };
    } else if (what === "priority") {
      data = { priority: node.querySelector('[data-field="priority"]').value };
    } else if (what === "transfer") {
      data = { service_id: Number(node.querySelector('[data-field="service"]').value),
               position: node.querySelector('[data-field="position"]').value };
    }
    buttonEl.disabled = true;
    try {
      const r = await api("POST", `/api/v1/tickets/${t.uid}/${what}`, data);
      if (r.status === 200) {
        message.className = "card-message";
        message.textContent = what === "reprint"
          ? `Reimpresión enviada (${printWord(r.data.print ? r.data.print.status : "queued")}).`
          : "Hecho.";
        if (what !== "reprint") {
          const fresh = card(r.data);
          fresh.querySelector(".card-message").textContent = "Hecho.";
          node.replaceWith(fresh);
        }
      } else {
        message.className = "card-message error";
        message.textContent = errorText(r);
      }
    } finally {
      buttonEl.disabled = false;
    }
  }

  async function refreshQueues() {
    const r = await api("GET", "/api/v1/queues");
    if (r.status !== 200) return;
    const rows = $("queue-rows");
    rows.replaceChildren();
    for (const q of r.data.queues) {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.code;
      const cells = [q.name, q.waiting, q.waiting_preferential, `${Math.round(q.oldest_wait_minutes)} min`,
                     q.open_counters, q.is_open ? "Abierta" : `Cerrada: ${q.closed_reason || ""}`];
      cells.forEach((c, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = String(c);
        tr.appendChild(cell);
      });
      if (q.oldest_wait_minutes > q.max_wait_minutes && q.waiting) tr.className = "late";
      rows.appendChild(tr);
    }
  }

  async function refreshPrinters() {
    const r = await api("GET", "/api/v1/printers");
    if (r.status !== 200) return;
    const list = $("alert-list");
    list.replaceChildren();
    for (const p of r.data.printers) {
      if (p.state === "ok" && !p.pending_jobs.length) continue;
      const li = document.createElement("li");
      li.className = "alert";
      li.dataset.printer = p.name;
      const labels = p.pending_jobs.map((j) => j.label).join(", ");
      li.textContent = `Impresora ${p.name}: ${p.message}` +
        (labels ? `. Pendientes: ${labels}` : "");
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "primary small";
      retry.textContent = "Reintentar impresión";
      retry.dataset.retry = p.name;
      retry.addEventListener("click", async () => {
        retry.disabled = true;
        await api("POST", `/api/v1/printers/${encodeURIComponent(p.name)}/retry`, {});
        setTimeout(refreshPrinters, 500);
      });
      li.append(" ", retry);
      for (const j of p.pending_jobs) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "secondary small";
        b.textContent = `Reimprimir ${j.label}`;
        b.addEventListener("click", async () => {
          b.disabled = true;
          await api("POST", `/api/v1/tickets/${j.ticket}/reprint`, {});
          refreshPrinters();
        });
        li.append(" ", b);
      }
      list.appendChild(li);
    }
    $("alerts").hidden = !list.children.length;
  }

  function scheduleRefresh(printersToo) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      refreshQueues();
      if (printersToo) refreshPrinters();
      dataChanged();
    }, 150);
  }

  // The page's other panels (reception-citas.js) read their data again with it.
  function dataChanged() {
    document.dispatchEvent(new CustomEvent("reception:refresh", { detail: catalog }));
  }

  // Queue changes redraw the queues; printer news (and each connection's snapshot, which
  // follows any gap in the stream) the printer alerts too.
  const QUEUE_KINDS = ["ticket.issued", "ticket.called", "ticket.cancelled", "ticket.reactivated",
                       "ticket.transferred", "ticket.priority_changed", "ticket.finished",
                       "ticket.no_show", "queue.closed", "queue.opened", "counter.opened",
                       "counter.closed", "counter.paused", "counter.resumed"];

  function listen() {
    if (stream) stream.close();
    const handlers = { "printer.status": () => scheduleRefresh(true),
                       snapshot: () => scheduleRefresh(true) };
    for (const kind of QUEUE_KINDS) handlers[kind] = () => scheduleRefresh(false);
    stream = Staff.stream("/api/v1/stream", handlers);
  }

  function wire() {
    Staff.wireSession(boot, () => { if (stream) stream.close(); });
    $("issue-entity").addEventListener("change", fillServices);
    $("issue-form").addEventListener("submit", issue);
    $("issue-priority").addEventListener("change", () => {
      if (!catalog) return;
      const p = catalog.priorities.find((x) => x.code === $("issue-priority").value);
      $("appointment-row").hidden = !(p && p.appointment);
    });
    $("visit-add").addEventListener("click", () => {
      if (!catalog) return;
      if (visit.length < 4) visit.push(Number($("visit-service").value));
      renderVisit();
    });
    $("find-form").addEventListener("submit", find);
  }

  wire();
  boot();
})(window.Staff);
