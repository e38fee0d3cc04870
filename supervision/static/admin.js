// Staff accounts and enrolled devices. Shown to supervisors and admins only; a supervisor's
// changes to supervisor or admin accounts are refused by the server with a clear message.
"use strict";

(function (Sup) {
  const { $, api, state, cell, button, option, report, say } = Sup;

  const ROLE = {};
  for (const o of $("user-role").options) ROLE[o.value] = o.textContent;

  async function refreshUsers() {
    if (!Sup.canManage()) return;
    const r = await api("GET", "/api/v1/users");
    if (r.status !== 200) return;
    const rows = $("user-rows");
    rows.replaceChildren();
    const picker = $("manage-user");
    const chosen = picker.value;
    picker.replaceChildren();
    for (const u of r.data.users) {
      const tr = document.createElement("tr");
      tr.dataset.user = u.username;
      const status = u.disabled ? "Deshabilitado" : (u.locked ? "Bloqueado por intentos" : "Activo");
      tr.append(cell("th", u.username), cell("td", u.full_name), cell("td", ROLE[u.role] || u.role),
                cell("td", u.entity || "—"), cell("td", status));
      rows.appendChild(tr);
      picker.appendChild(option(u.username, `${u.username} (${ROLE[u.role] || u.role})`));
    }
    if (chosen) picker.value = chosen;
  }

  async function refreshDevices() {
    if (!Sup.canManage()) return;
    const r = await api("GET", "/api/v1/devices");
    if (r.status !== 200) return;
    const rows = $("device-rows");
    rows.replaceChildren();
    for (const d of r.data.devices) {
      const tr = document.createElement("tr");
      tr.dataset.device = d.name;
      const action = document.createElement("td");
      if (!d.revoked_at) {
        const b = button("Revocar", "danger small", async () => {
          if (!window.confirm(`¿Revocar el dispositivo ${d.name}? Dejará de funcionar de inmediato.`)) return;
          report("device-message", await api("POST", `/api/v1/devices/${encodeURIComponent(d.name)}/revoke`, {}),
                 `Dispositivo ${d.name} revocado.`);
          refreshDevices();
        });
        b.setAttribute("aria-label", `Revocar ${d.name}`);
        action.appendChild(b);
      }
      tr.append(cell("th", d.name), cell("td", d.role === "kiosk" ? "Quiosco" : "Pantalla de sala"),
                cell("td", Sup.dateTime(d.created_at)),
                cell("td", d.revoked_at ? "Revocado" : "Activo"), action);
      rows.appendChild(tr);
    }
  }

  function fillEntities() {
    for (const select of document.querySelectorAll(".entity-select")) {
      select.replaceChildren(option("", "—"));
      for (const e of state.catalog.entities) select.appendChild(option(e.code, e.short_name));
    }
  }

  async function createUser(ev) {
    ev.preventDefault();
    const data = { username: $("user-name").value.trim(), full_name: $("user-full").value.trim(),
                   role: $("user-role").value, pin: $("user-pin").value };
    if ($("user-entity").value) data.entity = $("user-entity").value;
    const r = await api("POST", "/api/v1/users", data);
    if (report("user-message", r, `Usuario ${data.username} creado.`)) {
      $("user-form").reset();
    }
    refreshUsers();
  }

  async function manage(what) {
    const name = $("manage-user").value;
    if (!name) return;
    let data = {};
    if (what === "pin") {
      data = { pin: $("manage-pin").value };
      if (!data.pin) { say("user-message", "Escriba el nuevo PIN.", true); return; }
    } else if (what === "role") {
      data = { role: $("manage-role").value };
      if ($("manage-entity").value) data.entity = $("manage-entity").value;
    }
    const r = await api("POST", `/api/v1/users/${encodeURIComponent(name)}/${what}`, data);
    const done = { pin: "PIN restablecido", role: "Rol cambiado", disable: "Usuario deshabilitado",
                   enable: "Usuario habilitado" }[what];
    if (report("user-message", r, `${done}: ${name}.`) && what === "pin") $("manage-pin").value = "";
    refreshUsers();
  }

  async function enrol(ev) {
    ev.preventDefault();
    const data = { name: $("device-name").value.trim(), role: $("device-role").value };
    const r = await api("POST", "/api/v1/devices", data);
    $("device-token").hidden = true;
    if (report("device-message", r, `Dispositivo ${data.name} enrolado.`)) {
      $("device-link").textContent = location.origin + r.data.link;
      $("device-token").hidden = false;
      $("device-form").reset();
    }
    refreshDevices();
  }

  function wire() {
    $("user-form").addEventListener("submit", createUser);
    for (const b of document.querySelectorAll("[data-user-act]")) {
      b.addEventListener("click", () => manage(b.dataset.userAct));
    }
    $("device-form").addEventListener("submit", enrol);
  }

  Object.assign(Sup, { refreshUsers, refreshDevices, fillEntities, wireAdmin: wire });
})(window.Sup);
