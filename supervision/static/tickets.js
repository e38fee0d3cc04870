// Finding a ticket and acting on it: call it to a given módulo, cancel, reactivate, change
// its category, transfer it. The server decides who may do what; the page hides the call
// for roles that cannot make it.
"use strict";

(function (Sup) {
  const { $, api, state, option, report, errorText } = Sup;

  const STATUS = { waiting: "En espera", called: "Llamado", serving: "En atención", done: "Atendido",
                   no_show: "No se presentó", cancelled: "Anulado", transferred: "Derivado",
                   expired: "Sin atender al cierre" };

  async function find(ev) {
    if (ev) ev.preventDefault();
    const text = $("find-text").value.trim();
    if (!text || !state.catalog) return;
    const byLabel = /[A-Za-z]/.test(text) && text.includes("-");
    const query = byLabel ? `label=${encodeURIComponent(text.toUpperCase())}`
      : `document=${encodeURIComponent(text)}`;
    const r = await api("GET", `/api/v1/tickets?${query}`);
    const box = $("found");
    box.replaceChildren();
    if (r.status !== 200) { $("find-message").textContent = errorText(r); return; }
    $("find-message").textContent = r.data.tickets.length
      ? `${r.data.tickets.length} turno(s) encontrado(s).` : "No se encontró ningún turno de hoy.";
    for (const t of r.data.tickets) box.appendChild(card(t));
  }

  function countersFor(queue) {
    const counters = (state.floor && state.floor.counters) || [];
    return counters.filter((c) => c.queues.includes(queue));
  }

  function card(t) {
    const node = $("ticket-card").content.firstElementChild.cloneNode(true);
    node.dataset.uid = t.uid;
    node.querySelector(".card-label").textContent = t.label;
    node.querySelector(".card-info").textContent =
      `${STATUS[t.status] || t.status} · ${t.entity_name} · ${t.service_name} · ` +
      `${t.preferential ? "Preferente" : "Normal"}` + (t.counter_name ? ` · ${t.counter_name}` : "");
    fillCancelled(node, t);
    const counter = node.querySelector('[data-field="counter"]');
    for (const c of countersFor(t.queue)) {
      const word = { open: "abierto", paused: "en pausa", closed: "cerrado" }[c.status];
      counter.appendChild(option(c.id, `${c.name} (${word})`));
    }
    const prio = node.querySelector('[data-field="priority"]');
    for (const p of state.catalog.priorities) prio.appendChild(option(p.code, p.name_es));
    prio.value = t.priority;
    const svc = node.querySelector('[data-field="service"]');
    for (const s of state.catalog.services) {
      const e = state.catalog.entities.find((x) => x.code === s.entity);
      svc.appendChild(option(s.id, `${e ? e.short_name : s.entity}: ${s.name}`));
    }
    svc.value = t.service_id;
    node.addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-act]");
      if (b) act(t, b.dataset.act, node, b);
    });
    return node;
  }

  function fillCancelled(node, t) {
    window.Staff.showCancelled(node, t, (last) => `(${last.actor || "—"})`);
  }

  async function act(t, what, node, buttonEl) {
    if (buttonEl.disabled) return;
    const field = (name) => node.querySelector(`[data-field="${name}"]`).value;
    let path = `/api/v1/tickets/${t.uid}/${what}`;
    let data = {};
    if (what === "call") {
      if (!field("counter")) return;
      path = `/api/v1/counters/${field("counter")}/call`;
      data = { uid: t.uid };
    } else if (what === "cancel") {
      if (!field("cancel-reason")) {
        Sup.say(node.querySelector(".card-message"), "Elija el motivo de la anulación.", true);
        return;
      }
      const note = field("cancel-note").trim();
      data = note ? { reason: field("cancel-reason"), note } : { reason: field("cancel-reason") };
    } else if (what === "priority") {
      data = { priority: field("priority") };
    } else if (what === "transfer") {
      data = { service_id: Number(field("service")), position: field("position") };
    }
    buttonEl.disabled = true;
    try {
      const r = await api("POST", path, data);
      const message = node.querySelector(".card-message");
      if (report(message, r)) {
        const fresh = card(r.data);
        fresh.querySelector(".card-message").textContent =
          what === "call" ? `Llamado al módulo ${r.data.counter_name || ""}.` : "Hecho.";
        node.replaceWith(fresh);
        Sup.refreshFloor();
      }
    } finally {
      buttonEl.disabled = false;
    }
  }

  Object.assign(Sup, { wireTickets: () => $("find-form").addEventListener("submit", find) });
})(window.Sup);
