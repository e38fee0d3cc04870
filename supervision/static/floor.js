// The live floor: alerts, the jornada, queues, módulos, the TV message, and the actions on
// them. The floor is read whole from /api/v1/floor (durations by the box's clock) whenever
// the live stream reports a change, and every few seconds so that waits keep growing.
"use strict";

(function (Sup) {
  const { $, api, state, cell, button, option, report, say, duration, clockTime } = Sup;
  let printerAlerts = [];
  let loading = false;
  let again = false;  // a refresh asked for while one was in flight: its answer may be stale

  const COUNTER_STATE = { open: "Abierto", paused: "En pausa", closed: "Cerrado" };
  const PAUSE = {};
  for (const o of $("pause-reason").options) PAUSE[o.value] = o.textContent;

  async function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    again = false;
    try {
      const r = await api("GET", "/api/v1/floor");
      if (r.status !== 200) return;
      state.floor = r.data;
      renderAlerts();
      renderDay();
      renderQueues();
      renderCounters();
      renderMessage();
    } finally {
      loading = false;
      if (again) refresh();
    }
  }

  async function refreshPrinters() {
    const r = await api("GET", "/api/v1/printers");
    if (r.status !== 200) return;
    printerAlerts = r.data.printers.filter((p) => p.state !== "ok" || p.pending_jobs.length);
    renderAlerts();
  }

  function renderAlerts() {
    const list = $("alert-list");
    list.replaceChildren();
    const floor = state.floor;
    for (const a of (floor ? floor.alerts : [])) {
      const li = document.createElement("li");
      li.className = "alert";
      li.dataset.alert = a.kind;
      if (a.queue) li.dataset.queue = a.queue;
      li.textContent = a.message;
      list.appendChild(li);
    }
    for (const p of printerAlerts) {
      const li = document.createElement("li");
      li.className = "alert";
      li.dataset.alert = "printer";
      li.dataset.printer = p.name;
      const labels = p.pending_jobs.map((j) => j.label).join(", ");
      li.textContent = `Impresora ${p.name}: ${p.message}` + (labels ? `. Pendientes: ${labels}` : "");
      if (state.role !== "agent") {
        li.append(" ", button("Reintentar impresión", "primary small", async () => {
          await api("POST", `/api/v1/printers/${encodeURIComponent(p.name)}/retry`, {});
          setTimeout(refreshPrinters, 500);
        }));
      }
      list.appendChild(li);
    }
    $("alerts").hidden = !list.children.length;
    renderPublicAddress(floor && floor.public_address);
    const uplink = floor && floor.uplink;
    $("uplink").hidden = !uplink;
    if (uplink) {
      let text = "al día";
      if (uplink.enabled === false) text = "desactivado";
      else if (uplink.backlog) text = `${uplink.backlog} registro(s) por enviar`;
      if (uplink.status !== "ok") text += " — con problemas, vea las alertas";
      $("uplink").textContent = `Envío a la sede central: ${text}.`;
    }
  }

  // The QR codes on tickets lead nowhere (the box has no address phones can reach): said
  // apart from the alerts, as it holds until the configuration changes.
  function renderPublicAddress(address) {
    const banner = $("public-address-warning");
    banner.hidden = !address || address.status === "ok";
    if (!banner.hidden) {
      banner.textContent = `Los códigos QR de los tickets no abrirán en los teléfonos: ${address.detail}`;
    }
  }

  function checkLabel(code) {
    const label = document.querySelector(`label[for="check-${code}"]`);
    return label ? label.textContent : code;
  }

  function renderDay() {
    const day = state.floor.day;
    const date = day.date.split("-").reverse().join("/");
    let text;
    if (day.open) text = `Jornada del ${date}: abierta desde las ${clockTime(day.opened_at)}` +
      (day.opened_by ? ` (${day.opened_by})` : "") +
      (day.reopened_at ? `; reabierta a las ${clockTime(day.reopened_at)}` +
        (day.reopened_by ? ` (${day.reopened_by})` : "") : "") + ".";
    else if (day.closed_at) text = `Jornada del ${date}: cerrada a las ${clockTime(day.closed_at)}.`;
    else text = `Jornada del ${date}: aún no se abre.`;
    $("day-state").textContent = text;
    const checks = $("day-checks");
    checks.replaceChildren();
    for (const [code, c] of Object.entries(day.checks || {})) {
      if (!c || typeof c !== "object") continue;
      const li = document.createElement("li");
      li.textContent = `${checkLabel(code)}: ${c.ok ? "verificado" : "sin verificar — " + c.note}`;
      checks.appendChild(li);
    }
    $("open-day-form").hidden = day.open;
    $("close-day").hidden = !day.open;
  }

  function renderQueues() {
    const rows = $("queue-rows");
    rows.replaceChildren();
    for (const q of state.floor.queues) {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.code;
      tr.append(cell("th", `${q.name} (${q.prefix})`),
                cell("td", q.waiting_preferential ? `${q.waiting} (${q.waiting_preferential} pref.)` : q.waiting),
                cell("td", q.waiting ? `${Math.round(q.oldest_wait_minutes)} min` : "—"),
                cell("td", `${q.max_wait_minutes} min`), cell("td", q.open_counters),
                cell("td", q.waiting ? `${q.expected_wait_minutes} min` : "—"),
                cell("td", q.is_open ? "Abierta" : `Cerrada: ${q.closed_reason || ""}`));
      if (q.ans_breach) tr.className = "late";
      rows.appendChild(tr);
    }
    const select = $("queue-code");
    if (!select.options.length) {
      for (const q of state.floor.queues) select.appendChild(option(q.code, `${q.name} (${q.prefix})`));
    }
  }

  function counterActions(c) {
    const box = document.createElement("div");
    box.className = "actions";
    const act = (label, cls, what) => button(label, cls, async () => {
      const data = what === "pause" ? { reason: $("pause-reason").value } : {};
      const r = await api("POST", `/api/v1/counters/${c.id}/${what}`, data);
      report("counter-message", r, `${c.name}: hecho.`);
      refresh();
    });
    const label = (verb) => `${verb} ${c.name}`;
    if (c.status === "closed") box.append(act("Abrir", "secondary small", "open"));
    if (c.status === "open") box.append(act("Pausar", "secondary small", "pause"));
    if (c.status === "paused") box.append(act("Reanudar", "secondary small", "resume"));
    if (c.status !== "closed") box.append(act("Cerrar", "danger small", "close"));
    for (const b of box.children) b.setAttribute("aria-label", label(b.textContent));
    return box;
  }

  function renderCounters() {
    const rows = $("counter-rows");
    rows.replaceChildren();
    for (const c of state.floor.counters) {
      const tr = document.createElement("tr");
      tr.dataset.counter = c.id;
      const status = cell("td", c.status === "paused" && c.reason
        ? `${COUNTER_STATE.paused}: ${PAUSE[c.reason] || c.reason}` : COUNTER_STATE[c.status]);
      status.className = `state state-${c.status}`;
      status.dataset.status = c.status;
      const current = c.current ? `${c.current.label} (${c.current.status === "serving"
        ? "en atención" : "llamado"}, ${duration(c.current.seconds)})` : "—";
      const actions = document.createElement("td");
      actions.className = "supervisors";
      actions.appendChild(counterActions(c));
      tr.append(cell("th", c.name), cell("td", c.entity), status, cell("td", current),
                cell("td", duration(c.seconds_in_state)), cell("td", c.agent || "—"), actions);
      rows.appendChild(tr);
    }
  }

  function renderMessage() {
    const m = state.floor.message;
    $("message-current").textContent = m
      ? `En pantalla: «${m.text}»` + (m.until ? ` hasta las ${clockTime(m.until)}.` : " (sin límite).")
      : "Ninguno en pantalla.";
  }

  async function openDay(ev) {
    ev.preventDefault();
    const checks = {};
    for (const row of document.querySelectorAll("[data-check]")) {
      const code = row.dataset.check;
      const ok = $(`check-${code}`).checked;
      const note = $(`check-${code}-note`).value.trim();
      if (!ok && !note) {
        say("day-message", `Marque «${checkLabel(code)}» o indique por qué se abre sin verificarlo.`, true);
        $(`check-${code}-note`).focus();
        return;
      }
      checks[code] = { ok, note: ok ? "" : note };
    }
    let r = await api("POST", "/api/v1/day/open", { checks });
    // The log is later than the box's clock: the clock ran ahead and was put right. Only a
    // person who knows the time is right now may bring the box back to it.
    if (r.status === 409 && r.data && r.data.error === "clock_behind_log" &&
        window.confirm(`${r.data.message}\n\n¿La hora actual del equipo es la correcta? ` +
                       "Si acepta, el equipo vuelve a esa hora y abre la jornada de hoy.")) {
      r = await api("POST", "/api/v1/day/open", { checks, clock_confirmed: true });
    }
    report("day-message", r, "Jornada abierta.");
    refresh();
  }

  async function closeDay() {
    if (!window.confirm("¿Cerrar la jornada?")) return;
    let r = await api("POST", "/api/v1/day/close", {});
    // People still wait or are attended: the server says how many; closing expires them.
    if (r.status === 409 && r.data && r.data.error === "people_waiting") {
      if (!window.confirm(`${r.data.message}\n\n¿Cerrar la jornada de todos modos?`)) {
        say("day-message", "La jornada sigue abierta.", false);
        return;
      }
      r = await api("POST", "/api/v1/day/close", { expire_waiting: true });
    }
    report("day-message", r, r.status === 200
      ? `Jornada cerrada: ${r.data.expired} turno(s) sin atender.` : "");
    refresh();
  }

  async function queueChange(open) {
    const code = $("queue-code").value;
    const data = open ? {} : { reason: $("queue-reason").value.trim() };
    if (!open && !data.reason) { say("queue-message", "Indique el motivo del cierre.", true); return; }
    const r = await api("POST", `/api/v1/queues/${encodeURIComponent(code)}/${open ? "open" : "close"}`, data);
    if (report("queue-message", r, open ? `Cola ${code} reabierta.` : `Cola ${code} cerrada.`) && !open) {
      $("queue-reason").value = "";
    }
    refresh();
  }

  async function broadcast(text, minutes) {
    const r = await api("POST", "/api/v1/messages", { text, minutes });
    report("message-result", r, text ? "Mensaje enviado a las pantallas." : "Mensaje quitado.");
    refresh();
  }

  function wire() {
    $("open-day-form").addEventListener("submit", openDay);
    $("close-day").addEventListener("click", closeDay);
    $("queue-form").addEventListener("submit", (ev) => { ev.preventDefault(); queueChange(false); });
    $("queue-open").addEventListener("click", () => queueChange(true));
    $("message-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      broadcast($("message-text").value.trim(), Number($("message-minutes").value || 0));
    });
    $("message-clear").addEventListener("click", () => broadcast("", 0));
    for (const row of document.querySelectorAll("[data-check]")) {
      const box = $(`check-${row.dataset.check}`);
      box.addEventListener("change", () => { $(`check-${row.dataset.check}-note`).disabled = box.checked; });
    }
  }

  Object.assign(Sup, { refreshFloor: refresh, refreshPrinters, wireFloor: wire });
})(window.Sup);
