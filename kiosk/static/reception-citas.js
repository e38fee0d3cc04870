// The orientador's "Citas de hoy": today's citas (booked at the central, held by the box) by
// slot, who came and with which ticket, and «Registrar llegada» for a citizen who is at the
// desk (POST /api/v1/citas/check-in with the booking code; the cita itself makes a repeat
// give the same ticket: docs/citas.md). The list is read again whenever reception.js reads
// its data again (the event "reception:refresh", with the catalogue) and every 30 s. The
// calls and the session's CSRF token are staff.js's (window.Staff).
"use strict";

(function (Staff) {
  const { $, api, errorText } = Staff;
  const EVERY_MS = 30000;
  const DOCUMENTS = { dni: "DNI", ce: "CE", passport: "Pasaporte", ruc: "RUC" };
  const OUTCOMES = { served: "atendida", no_show: "no se presentó al llamado",
                     expired: "sin atender al cierre", cancelled: "turno anulado" };
  let catalog = null;
  let timer = null;
  let asked = 0;                 // the newest reading asked for: older answers are dropped
  let citas = [];
  const notes = new Map();       // code -> {text, error}: the last check-in's answer, per row
  const busy = new Set();        // codes whose check-in is on its way

  function serviceName(id) {
    const s = catalog && catalog.services ? catalog.services.find((x) => x.id === id) : null;
    return s ? s.name : String(id);
  }

  // Whether the centre takes citas at all (a catalogue that does not say: it does).
  function takesCitas() {
    return !catalog || !catalog.services
      || catalog.services.some((s) => s.appointments === undefined || s.appointments);
  }

  function state(c) {
    const ticket = c.label ? ` — turno ${c.label}` : "";
    let text;
    if (c.arrival === "kept") text = `Llegó a tiempo${ticket}`;
    else if (c.arrival === "late") text = `Llegó tarde${ticket}`;
    else if (c.status === "cancelled") text = "Cancelada";
    else if (c.outcome === "missed") text = "No vino";
    else text = "Reservada";
    if (c.arrival && OUTCOMES[c.outcome]) text += ` (${OUTCOMES[c.outcome]})`;
    return text;
  }

  const canCheckIn = (c) => c.status === "booked" && !c.arrival && !c.outcome;

  function dayText(day) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day || ""));
    return m ? `${m[3]}/${m[2]}/${m[1]}` : String(day || "");
  }

  function cell(tag, text, className) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  function row(c) {
    const tr = document.createElement("tr");
    tr.dataset.code = c.code;
    tr.dataset.status = c.arrival || c.status;
    const code = cell("th", c.code);
    code.scope = "row";
    code.tabIndex = -1;          // where the focus goes once its button is gone
    const who = cell("td");
    who.appendChild(cell("span", c.name || "—", "cita-name"));
    if (c.document) {
      const kind = DOCUMENTS[c.document_type] || (c.document_type || "").toUpperCase();
      who.appendChild(cell("span", `${kind} ${c.document}`.trim(), "cita-document"));
    }
    const act = cell("td", undefined, "cita-act");
    if (canCheckIn(c)) {
      const b = cell("button", "Registrar llegada", "primary small");
      b.type = "button";
      b.dataset.checkIn = c.code;
      b.setAttribute("aria-label", `Registrar llegada de la cita ${c.code}` +
                                   (c.name ? ` (${c.name})` : ""));
      b.disabled = busy.has(c.code);
      act.appendChild(b);
    }
    const note = notes.get(c.code);
    if (note) act.appendChild(cell("p", note.text, note.error ? "cita-note error" : "cita-note"));
    tr.append(cell("td", c.slot), code, cell("td", serviceName(c.service)), who,
              cell("td", state(c), "cita-state"), act);
    return tr;
  }

  // Rows that did not change stay in place, so a keyboard's focus on one survives a reading.
  function render() {
    const body = $("cita-rows");
    const fresh = citas.map(row);
    const old = Array.from(body.children);
    const sameRows = old.length === fresh.length
      && old.every((tr, i) => tr.dataset.code === fresh[i].dataset.code);
    if (!sameRows) body.replaceChildren(...fresh);
    else old.forEach((tr, i) => { if (!tr.isEqualNode(fresh[i])) tr.replaceWith(fresh[i]); });
    $("citas-empty").hidden = citas.length > 0;
    $("citas-table").hidden = citas.length === 0;
    $("citas").hidden = !citas.length && !takesCitas();
  }

  function summary(day) {
    const came = citas.filter((c) => c.arrival).length;
    const booked = citas.filter((c) => c.status === "booked").length;
    $("citas-day").textContent = citas.length
      ? `${dayText(day)} · ${booked} reservada(s), ${came} con llegada registrada.`
      : dayText(day);
  }

  async function refresh() {
    const mine = ++asked;
    const r = await api("GET", "/api/v1/citas");
    if (mine !== asked) return;
    if (r.status !== 200) {
      if (r.status !== 0) say(errorText(r), true);  // no connection: staff.js's notice says it
      return;
    }
    citas = r.data.citas;
    summary(r.data.day);
    render();
  }

  function say(text, error) {
    const out = $("citas-message");
    out.textContent = text;
    out.className = error ? "result error" : "result";
  }

  function printWord(status) {
    return { queued: "en cola", printed: "impreso", pending: "pendiente (revise la impresora)" }[status] || status;
  }

  async function checkIn(code) {
    if (busy.has(code)) return;
    busy.add(code);
    const button = document.querySelector(`#cita-rows [data-check-in="${CSS.escape(code)}"]`);
    if (button) button.disabled = true;
    try {
      const r = await api("POST", "/api/v1/citas/check-in", { code });
      const answer = r.data || {};
      if ((r.status === 201 || r.status === 200) && answer.ticket) {
        const how = answer.arrival === "late" ? "llegó tarde: se atiende por orden de llegada"
          : "llegó a tiempo: se le llama a la hora de su cita";
        const printed = answer.ticket.print ? ` Impresión: ${printWord(answer.ticket.print.status)}.` : "";
        const text = r.status === 200
          ? `Cita ${code}: ya estaba registrada, turno ${answer.ticket.label}.`
          : `Cita ${code}: turno ${answer.ticket.label} (${how}).${printed}`;
        notes.set(code, { text: `Turno ${answer.ticket.label}`, error: false });
        say(text, false);
      } else {
        const text = errorText(r);
        notes.set(code, { text, error: true });
        say(`Cita ${code}: ${text}`, true);
      }
    } finally {
      busy.delete(code);
    }
    const lost = document.activeElement === button || document.activeElement === document.body;
    await refresh();
    const tr = document.querySelector(`#cita-rows tr[data-code="${CSS.escape(code)}"]`);
    if (tr && lost) (tr.querySelector("[data-check-in]") || tr.querySelector("th")).focus();
  }

  function onRefresh(ev) {
    catalog = ev.detail || catalog;
    refresh();
    if (!timer) timer = setInterval(refresh, EVERY_MS);
  }

  function wire() {
    document.addEventListener("reception:refresh", onRefresh);
    $("cita-rows").addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-check-in]");
      if (b && !b.disabled) checkIn(b.dataset.checkIn);
    });
  }

  wire();
})(window.Staff);
