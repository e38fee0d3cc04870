// Shared pieces of the supervision page: calls to /api/v1 with the CSRF token, and the small
// formatting helpers every panel uses. Everything hangs from one object, window.Sup.
"use strict";

window.Sup = (function () {
  const state = { csrf: null, role: null, username: null, catalog: null, floor: null };

  const $ = (id) => document.getElementById(id);

  async function api(method, path, data) {
    const headers = {};
    if (data !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin", cache: "no-store",
        body: data === undefined ? undefined : JSON.stringify(data),
      });
    } catch (e) {
      return { status: 0, data: { message: "Sin conexión con el equipo." } };
    }
    let json = null;
    try { json = await response.json(); } catch (e) { json = null; }
    return { status: response.status, data: json };
  }

  const errorText = (r) => (r.data && r.data.message) || `Error ${r.status}`;

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

  function clockTime(iso) {
    if (!iso) return "";
    const zone = (state.floor && state.floor.timezone) || undefined;
    return new Date(iso).toLocaleTimeString("es-PE", { hour: "2-digit", minute: "2-digit", timeZone: zone });
  }

  const canManage = () => ["admin", "supervisor"].includes(state.role);

  // --- the staff session, shared by the supervision pages --------------------------------

  function showLoginError(text) {
    $("login-error").textContent = text;
    $("login-error").hidden = false;
  }

  // Shows the login form until someone whose role is in ``roles`` is signed in; then keeps
  // who it is (and the CSRF token) in ``state`` and shows the page. True when signed in.
  async function signIn(roles, deniedText) {
    const me = await api("GET", "/api/v1/auth/me");
    if (me.status !== 200 || !roles.includes(me.data.role)) {
      $("login").hidden = false;
      $("console").hidden = true;
      $("who").hidden = true;
      if (me.status === 200) showLoginError(deniedText);
      return false;
    }
    state.csrf = me.data.csrf_token;
    state.role = me.data.role;
    state.username = me.data.username;
    $("who-name").textContent = me.data.username;
    $("who").hidden = false;
    $("login").hidden = true;
    $("console").hidden = false;
    return true;
  }

  // The login form starts ``boot`` again once the PIN is accepted; «Cerrar sesión» ends the
  // session (after ``beforeLogout``, e.g. closing a live stream) and reloads the page.
  function wireSession(boot, beforeLogout) {
    $("login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await api("POST", "/api/v1/auth/login",
                          { username: $("login-user").value, password: $("login-pin").value });
      if (r.status !== 200) { showLoginError(errorText(r)); return; }
      $("login-pin").value = "";
      $("login-error").hidden = true;
      boot();
    });
    $("logout").addEventListener("click", async () => {
      await api("POST", "/api/v1/auth/logout", {});
      if (beforeLogout) beforeLogout();
      location.reload();
    });
  }

  return { state, $, api, errorText, say, report, option, cell, button, duration, clockTime,
           canManage, signIn, wireSession };
})();
