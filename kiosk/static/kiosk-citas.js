// The kiosk's "Tengo cita": a citizen with an appointment (cita) registers their arrival with
// their DNI on the keypad or the booking code on a keyboard of A–Z, 0–9 and "-"; the box
// answers with the ticket (POST /api/v1/citas/check-in), shown as kiosk.js shows any ticket.
// Everything else (the token, the texts, the screens, the ticket, the messages and the
// return to the start when left idle) is kiosk.js's, reached through window.kiosk.
"use strict";

(function () {
  const CODE_KEYS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-".split("");
  const CODE_MAX = 32;
  const CODE_MIN = 4;
  const DNI_MIN = 8;       // its 8 digits, or 9 with the check digit printed on the card
  const DNI_MAX = 9;
  // The refusals of a cita, each with its message (title, detail) in the catalogues.
  const REFUSALS = {
    cita_too_early: ["cita_too_early", "cita_too_early_detail"],
    cita_other_day: ["cita_other_day", "cita_other_day_detail"],
    cita_cancelled: ["cita_cancelled", "cita_cancelled_detail"],
    cita_service_unavailable: ["cita_service_unavailable", "cita_service_unavailable_detail"],
  };

  const $ = (id) => document.getElementById(id);
  const K = () => window.kiosk;
  let busy = false;
  let key = null;          // the Idempotency-Key of what is typed now: a double tap reuses it

  function keyButton(label, value, className) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.citaKey = value;
    if (className) b.className = className;
    if (label) b.textContent = label;
    else { b.dataset.i18n = "delete"; b.textContent = "⌫"; }
    return b;
  }

  // The DNI keypad looks like kiosk.js's (same classes); the code keyboard like the search's.
  function buildKeys() {
    const pad = $("cita-keypad");
    for (const d of "123456789") pad.appendChild(keyButton(d, d));
    pad.appendChild(keyButton(null, "del", "secondary"));
    pad.appendChild(keyButton("0", "0"));
    const letters = $("cita-keys");
    for (const k of CODE_KEYS) letters.appendChild(keyButton(k, k));
    letters.appendChild(keyButton(null, "del", "wide"));
    pad.addEventListener("click", (ev) => typed(ev, "cita-dni", DNI_MAX));
    letters.addEventListener("click", (ev) => typed(ev, "cita-code", CODE_MAX));
  }

  function typed(ev, outputId, max) {
    const b = ev.target.closest("[data-cita-key]");
    if (!b) return;
    const out = $(outputId);
    const k = b.dataset.citaKey;
    if (k === "del") out.textContent = out.textContent.slice(0, -1);
    else if (out.textContent.length < max) out.textContent += k;
    key = null;
    hideError();
  }

  // The "Tengo cita" button is on the first screen when any service takes citas.
  function onStart(ev) {
    const catalog = ev.detail;
    // (a catalogue that does not say which services take citas: shown always)
    const any = !catalog || !catalog.services
      || catalog.services.some((s) => s.appointments === undefined || s.appointments);
    $("cita-open").hidden = !any;
    $("ticket-cita").hidden = true;
  }

  function openWays() {
    hideError();
    K().show("s-cita");
  }

  function openEntry(screen) {
    $("cita-dni").textContent = "";
    $("cita-code").textContent = "";
    key = null;
    hideError();
    K().show(screen);
  }

  function error(textKey) {
    for (const id of ["cita-dni-error", "cita-code-error"]) {
      const el = $(id);
      el.dataset.i18n = textKey;   // a language switch redraws it with the other texts
      el.textContent = K().t(textKey);
      el.hidden = false;
    }
  }

  function hideError() {
    for (const id of ["cita-dni-error", "cita-code-error"]) $(id).hidden = true;
  }

  function sendDni() {
    const number = $("cita-dni").textContent;
    if (number.length < DNI_MIN) { error("cita_dni_short"); return; }
    checkIn({ document_type: "DNI", document: number }, "s-cita-dni");
  }

  function sendCode() {
    const code = $("cita-code").textContent;
    if (code.length < CODE_MIN) { error("cita_code_short"); return; }
    checkIn({ code }, "s-cita-code");
  }

  function dayText(day) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day || ""));
    return m ? `${m[3]}/${m[2]}/${m[1]}` : String(day || "");
  }

  async function checkIn(data, from) {
    if (busy) return;  // a double tap never checks in twice; the key makes retries safe too
    busy = true;
    const k = K();
    if (!key) key = k.newKey();
    k.show("s-issuing");
    try {
      const r = await k.api("POST", "/api/v1/citas/check-in",
                            Object.assign({ language: k.language() }, data),
                            { "Idempotency-Key": key });
      const answer = r.data || {};
      if ((r.status === 200 || r.status === 201) && answer.ticket) {
        k.showTicket(answer.ticket);
        const line = $("ticket-cita");
        line.dataset.i18n = answer.arrival === "late" ? "cita_late" : "cita_kept";
        line.textContent = k.t(line.dataset.i18n);
        line.classList.toggle("late", answer.arrival === "late");
        line.hidden = false;
        return;
      }
      const code = answer.error;
      if (code === "cita_not_found" || r.status === 400) {
        key = null;
        error(code === "cita_not_found" ? "cita_not_found" : "cita_invalid");
        k.show(from);
        return;
      }
      if (REFUSALS[code]) {
        const [title, detail] = REFUSALS[code];
        k.message(title, detail, { from: answer.from || "", day: dayText(answer.day),
                                   slot: answer.slot || "" });
        return;
      }
      if (r.status === 401 || r.status === 403) { k.message("not_enrolled"); return; }
      k.refuse(code, answer);
    } catch {
      k.message("offline");
    } finally {
      busy = false;
    }
  }

  function wire() {
    buildKeys();
    document.addEventListener("kiosk:start", onStart);
    $("cita-open").addEventListener("click", openWays);
    $("cita-by-dni").addEventListener("click", () => openEntry("s-cita-dni"));
    $("cita-by-code").addEventListener("click", () => openEntry("s-cita-code"));
    for (const b of document.querySelectorAll("[data-cita-back]")) {
      b.addEventListener("click", openWays);
    }
    $("cita-dni-send").addEventListener("click", sendDni);
    $("cita-code-send").addEventListener("click", sendCode);
  }

  wire();
})();
