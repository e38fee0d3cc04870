// The idle screen's estimated waits: the queues this TV shows (its entity filter), with the
// same figures the kiosk, the ticket and the phone give (GET /api/v1/queues): "~N min", or
// the time attention starts while no módulo serves yet. Read when the TV turns idle and once
// a minute while it stays idle; a failed read keeps the last list.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const section = $("waits");
  const ROWS = 8;
  const REFRESH_MS = 60000;

  function hhmm(iso) {  // "2026-11-27T08:30:00-05:00" -> "08:30", the centre's own time
    const m = /T(\d{2}:\d{2})/.exec(iso || "");
    return m ? m[1] : "";
  }

  function figure(q) {
    if (q.attention_starts_at) return section.dataset.starts.replace("{time}", hhmm(q.attention_starts_at));
    return section.dataset.minutes.replace("{n}", String(q.expected_wait_minutes || 0));
  }

  function render(queues) {
    const display = window.macDisplay;
    const filter = display.cfg.filter;
    const rows = queues
      .filter((q) => q.is_open && q.waiting > 0 && (!filter.size || filter.has(q.entity)))
      .sort((a, b) => b.waiting - a.waiting)
      .slice(0, ROWS);
    const list = $("wait-rows");
    list.replaceChildren(...rows.map((q) => {
      const li = document.createElement("li");
      li.dataset.queue = q.code;
      const name = document.createElement("span");
      name.className = "wait-name";
      name.textContent = q.name;
      const people = document.createElement("span");
      people.className = "wait-people";
      people.textContent = section.dataset.people.replace("{n}", String(q.waiting));
      const time = document.createElement("span");
      time.className = "wait-time";
      time.textContent = figure(q);
      li.append(name, people, time);
      return li;
    }));
    section.hidden = rows.length === 0;
  }

  async function load() {
    const display = window.macDisplay;
    if (!display || !display.state.idle) return;
    try {
      const r = await fetch("/api/v1/queues", { credentials: "same-origin", cache: "no-store" });
      if (r.ok) render((await r.json()).queues || []);
    } catch { /* keep the last list */ }
  }

  let wasIdle = false;
  setInterval(() => {  // turning idle reads at once; staying idle, once a minute
    const idle = !!(window.macDisplay && window.macDisplay.state.idle);
    if (idle && !wasIdle) load();
    wasIdle = idle;
  }, 1000);
  setInterval(load, REFRESH_MS);
})();
