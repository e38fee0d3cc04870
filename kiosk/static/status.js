// The phone's view of one ticket: asks the box every few seconds (a phone on the centre's
// Wi-Fi should not hold one of the server's threads the way a live stream does).
"use strict";

(function () {
  const token = document.body.dataset.token;
  const textsEl = document.getElementById("texts");
  if (!token || !textsEl) return;
  const texts = JSON.parse(textsEl.textContent);
  const $ = (id) => document.getElementById(id);
  const fill = (key, k, v) => (texts[key] || key).replace(`{${k}}`, v);
  const PERIOD_MS = 5000;

  // Before the módulos open the page says when attention starts (the centre's local time,
  // as the box sends it), not a figure of minutes.
  function waitText(t) {
    if (t.attention_starts_at) {
      return fill("status_starts_at", "time", t.attention_starts_at.slice(11, 16));
    }
    return t.estimated_wait_minutes ? fill("minutes", "n", t.estimated_wait_minutes)
      : texts.soon;
  }

  async function update() {
    try {
      const r = await fetch(`/api/v1/public/tickets/${encodeURIComponent(token)}`,
                            { cache: "no-store" });
      if (r.status !== 200) return;
      const t = await r.json();
      $("label").textContent = t.label;
      const state = $("state");
      state.textContent = texts[`status_${t.status}`] || t.status;
      state.className = `state state-${t.status}`;
      $("go-to").hidden = t.status !== "called";
      $("go-to").textContent = fill("go_to", "counter", t.counter_name || "");
      $("service").textContent = `${t.entity_name} · ${t.service_name}`;
      const waiting = t.status === "waiting";
      $("ahead-row").hidden = !waiting;
      $("wait-row").hidden = !waiting;
      $("ahead").textContent = t.ahead == null ? "—" : String(t.ahead);
      $("wait").textContent = waitText(t);
      $("next-step").hidden = t.status !== "no_show";
    } catch {
      // offline for a moment: keep what is shown and try again
    }
  }

  setInterval(update, PERIOD_MS);
})();
