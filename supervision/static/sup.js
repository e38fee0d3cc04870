// What the supervision pages (the live floor and the reports) share besides the staff pages'
// own calls and sign-in (staff.js, window.Staff): what is known of the centre and of who is
// signed in, and the small formatting helpers every panel uses. Everything hangs from one
// object, window.Sup.
"use strict";

window.Sup = (function (Staff) {
  const { $, api, errorText } = Staff;
  const state = { role: null, username: null, catalog: null, floor: null };

  function say(id, text, isError) {
    const el = typeof id === "string" ? $(id) : id;
    el.textContent = text;
    el.classList.toggle("error", !!isError);
  }

  // Show the answer of a change: "Hecho." or the server's message.
  function report(id, r, okText) {
    const ok = r.status >= 200 && r.status < 300;
    say(id, ok ? (okText || "Hecho.") : errorText(r), !ok);
    return ok;
  }

  function option(value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  function cell(tag, text) {
    const c = document.createElement(tag);
    if (tag === "th") c.scope = "row";
    c.textContent = text == null ? "" : String(text);
    return c;
  }

  function button(text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.addEventListener("click", async () => {
      if (b.disabled) return;
      b.disabled = true;
      try { await onClick(); } finally { b.disabled = false; }
    });
    return b;
  }

  function duration(seconds) {
    if (seconds == null) return "—";
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  }

  // Times are the centre's (America/Lima), whatever zone the browser's computer is set to.
  function zone() {
    return (state.floor && state.floor.timezone) ||
      (state.catalog && state.catalog.centre && state.catalog.centre.timezone) || "America/Lima";
  }

  function clockTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleTimeString("es-PE", { hour: "2-digit", minute: "2-digit", timeZone: zone() });
  }

  // "27/11/2026 10:00" in the centre's zone: date and time from the same clock.
  function dateTime(iso) {
    if (!iso) return "—";
    const when = new Date(iso);
    const date = when.toLocaleDateString("es-PE", { day: "2-digit", month: "2-digit", year: "numeric",
                                                    timeZone: zone() });
    return `${date} ${clockTime(iso)}`;
  }

  const canManage = () => ["admin", "supervisor"].includes(state.role);

  // Shows the login form until someone whose role is in ``roles`` is signed in; then keeps
  // who it is in ``state`` and shows the page. True when signed in.
  async function signIn(roles, deniedText) {
    const me = await Staff.signIn({ roles, denied: deniedText, sections: ["console"],
                                    reveal: "console" });
    if (!me) return false;
    state.role = me.role;
    state.username = me.username;
    return true;
  }

  // The opening list confirmed from the panel at the top: the floor drops its alert at once.
  window.addEventListener("staff:checklist-confirmed", () => {
    if (window.Sup && window.Sup.refreshFloor) window.Sup.refreshFloor();
  });

  return { state, $, api, errorText, say, report, option, cell, button, duration, clockTime,
           canManage, signIn, wireSession: Staff.wireSession, dateTime, zone };
})(window.Staff);
