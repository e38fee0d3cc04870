// The desk's view of who waits and why a ticket was chosen: the list of the módulo's waiting
// tickets (first rows from GET /counters/{id}/waiting, preferential ones first and marked)
// with «Llamar este turno» per row; the dialog that asks for the reason when that call passes
// a preferential citizen (the engine answers 409 reason_required); and the words for the rule
// that chose the current ticket. desk.js owns the state and the calls; this draws and asks.
"use strict";

window.DeskQueue = (function () {
  const RULE = {
    arrival: "Orden de llegada",
    max_normal_wait: "Espera máxima superada",
    preferential_streak_limit: "Turno general tras varios preferentes seguidos",
    manual: "Llamado por el asesor",
  };
  // Short words for the preferential categories of the law; other codes use their name.
  const PREFERENTIAL = {
    adulto_mayor: "adulto mayor", gestante: "gestante", nino: "con niña o niño pequeño",
    discapacidad: "persona con discapacidad",
  };

  let onCall = null;    // (item, {reason, note} | null) => void, from desk.js
  let pending = null;   // the row whose call waits for a reason
  let canCall = false;

  const $ = (id) => document.getElementById(id);

  function reasonName(code) {
    const input = document.querySelector(`input[name="call-reason"][value="${code}"]`);
    return input ? input.parentElement.textContent.trim() : code;
  }

  function hhmm(iso, timeZone) {
    const options = { hour: "2-digit", minute: "2-digit", hour12: false };
    try {
      return new Intl.DateTimeFormat("es-PE", { ...options, timeZone }).format(new Date(iso));
    } catch {
      return new Intl.DateTimeFormat("es-PE", options).format(new Date(iso));
    }
  }

  // The reason of the last call by hand, from the ticket's history (GET /tickets/{uid}).
  function manualReason(ticket) {
    const calls = (ticket.history || []).filter((e) => e.kind === "ticket.called");
    const last = calls.length ? calls[calls.length - 1].payload : null;
    if (!last || !last.reason) return "";
    return reasonName(last.reason) + (last.reason_note ? ` («${last.reason_note}»)` : "");
  }

  // Why this ticket was called (contract C4: the rule the call event records).
  function ruleText(ticket, priorityName, timeZone) {
    switch (ticket.rule) {
      case "preferential":
        return `Preferente: ${PREFERENTIAL[ticket.priority] || priorityName(ticket.priority)}`;
      case "appointment":
        return ticket.appointment_at ? `Cita ${hhmm(ticket.appointment_at, timeZone)}` : "Cita";
      case "manual": {
        const why = manualReason(ticket);
        return why ? `${RULE.manual}: ${why}` : RULE.manual;
      }
      default:
        return ticket.rule ? RULE[ticket.rule] || ticket.rule : "";
    }
  }

  // How long the citizen waited in this queue before the call.
  function waitText(ticket) {
    if (!ticket.entered_at || !ticket.called_at) return "";
    const ms = Date.parse(ticket.called_at) - Date.parse(ticket.entered_at);
    return Number.isNaN(ms) ? "" : `Esperó ${Math.max(0, Math.round(ms / 60000))} min en cola`;
  }

  function row(item, now, priorityName) {
    const li = document.createElement("li");
    li.className = item.preferential ? "pref" : "";
    li.dataset.uid = item.uid;
    const waited = Math.max(0, Math.floor((now - Date.parse(item.entered_at)) / 60000));
    const parts = [["w-label", item.label], ["w-cat", priorityName(item.priority)],
                   ["w-min", `${Number.isNaN(waited) ? item.waited_minutes : waited} min`]];
    if (item.preferential) parts.splice(1, 0, ["w-badge", "Preferente"]);
    for (const [cls, text] of parts) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      li.appendChild(span);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small call-this";
    button.textContent = "Llamar este turno";
    button.setAttribute("aria-label", `Llamar este turno ${item.label}`);
    button.disabled = !canCall;
    button.addEventListener("click", () => { if (onCall) onCall(item, null); });
    li.appendChild(button);
    return li;
  }

  // Draw the list; ``now`` is the server's time in ms, so the minutes match the engine's.
  function render(data, now, priorityName) {
    const list = $("waiting-list");
    list.replaceChildren(...data.items.map((item) => row(item, now, priorityName)));
    const prefs = data.preferential ? `, ${data.preferential} preferente(s)` : "";
    $("waiting-summary").textContent = data.total
      ? `${data.total} en espera${prefs}.` : "Nadie espera.";
    $("waiting-more").hidden = !data.more;
    $("waiting-more").textContent = data.more ? `y ${data.more} más` : "";
  }

  function enable(can) {
    canCall = can;
    for (const b of document.querySelectorAll(".call-this")) b.disabled = !can;
  }

  function askReason(item, passed) {
    pending = item;
    $("reason-form").reset();
    $("reason-error").hidden = true;
    const who = passed.length ? ` (${passed.join(", ")})` : "";
    $("reason-text").textContent = `Llamar ${item.label} adelanta a un ciudadano preferente ` +
      `que espera${who}. La ley le da prioridad: elija el motivo.`;
    $("reason-dialog").showModal();
  }

  function submitReason(ev) {
    ev.preventDefault();
    const chosen = document.querySelector('input[name="call-reason"]:checked');
    const note = $("reason-note").value.trim();
    const problem = !chosen ? "Elija un motivo."
      : chosen.value === "other" && !note ? "Con «Otro motivo» escriba una nota breve." : "";
    if (problem) {
      $("reason-error").textContent = problem;
      $("reason-error").hidden = false;
      return;
    }
    const item = pending;
    pending = null;
    $("reason-dialog").close();
    if (item && onCall) onCall(item, note ? { reason: chosen.value, note } : { reason: chosen.value });
  }

  function init(callback) {
    onCall = callback;
    $("reason-form").addEventListener("submit", submitReason);
    $("reason-cancel").addEventListener("click", () => { pending = null; $("reason-dialog").close(); });
  }

  const asking = () => $("reason-dialog").open;

  return { init, render, enable, askReason, asking, ruleText, waitText };
})();
