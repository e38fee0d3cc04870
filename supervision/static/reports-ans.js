// The dated ANS catalogue on the report page: every target with its origin; those entered in
// supervision can be corrected or deleted, those from the configuration file are read-only.
// After any change the report is read again, since its ANS shares depend on the targets.
"use strict";

(function (Sup) {
  const { $, api, state, cell, option, button, say } = Sup;
  const ORIGIN = { config: "Configuración", supervision: "Supervisión" };
  let editing = null;  // the id of the target being corrected, or null when adding

  function dateText(iso) {
    if (!iso) return "sin fecha de fin";
    const [y, m, d] = iso.split("-");
    return `${d}/${m}/${y}`;
  }

  function queueName(code) {
    const q = (state.catalog.queues || []).find((x) => x.code === code);
    if (!q) return code;
    const e = (state.catalog.entities || []).find((x) => x.code === q.entity);
    return e ? `${q.name} (${e.short_name})` : q.name;
  }

  function fillServices(selected) {
    const select = $("ans-service");
    select.replaceChildren(option("", "Toda la cola"));
    for (const s of state.catalog.services.filter((x) => x.queue === $("ans-queue").value)) {
      select.appendChild(option(String(s.id), s.name));
    }
    select.value = selected == null ? "" : String(selected);
    const q = state.catalog.queues.find((x) => x.code === $("ans-queue").value);
    $("ans-base").textContent = q ? `Sin ANS fechado, esta cola espera como máximo ${q.max_wait_minutes} min ` +
      `y atiende como máximo ${q.max_attention_minutes} min (catálogo).` : "";
  }

  Sup.fillAnsForm = function () {
    const select = $("ans-queue");
    select.replaceChildren();
    for (const q of state.catalog.queues) select.appendChild(option(q.code, queueName(q.code)));
    fillServices(null);
  };

  function describe(t) {
    return `${t.queue_name}${t.service_name ? " · " + t.service_name : ""}, vigente desde ${dateText(t.valid_from)}`;
  }

  function renderRows(targets) {
    const rows = $("ans-rows");
    rows.replaceChildren();
    if (!targets.length) {
      const tr = document.createElement("tr");
      const td = cell("td", "No hay ANS fechados: rigen los de cada cola en el catálogo.");
      td.colSpan = 8;
      tr.appendChild(td);
      rows.appendChild(tr);
    }
    for (const t of targets) {
      const tr = document.createElement("tr");
      tr.dataset.ans = String(t.id);
      tr.dataset.source = t.source;
      tr.append(cell("th", queueName(t.queue)), cell("td", t.service_name || "Toda la cola"),
                cell("td", `${t.max_wait_minutes} min`), cell("td", `${t.max_attention_minutes} min`),
                cell("td", dateText(t.valid_from)), cell("td", t.valid_to ? dateText(t.valid_to) : "—"),
                cell("td", ORIGIN[t.source] || t.source));
      const actions = document.createElement("td");
      if (t.source === "supervision") {
        const box = document.createElement("div");
        box.className = "actions";
        const edit = button("Corregir", "secondary small", async () => startEdit(t));
        edit.dataset.act = "edit";
        edit.setAttribute("aria-label", `Corregir el ANS de ${describe(t)}`);
        const drop = button("Borrar", "danger small", async () => remove(t));
        drop.dataset.act = "delete";
        drop.setAttribute("aria-label", `Borrar el ANS de ${describe(t)}`);
        box.append(edit, drop);
        actions.appendChild(box);
      } else {
        actions.textContent = "Solo lectura (archivo de configuración)";
        actions.className = "read-only";
      }
      tr.appendChild(actions);
      rows.appendChild(tr);
    }
  }

  Sup.refreshAns = async function () {
    const r = await api("GET", "/api/v1/ans");
    if (r.status !== 200) {
      say("ans-message", Sup.errorText(r), true);
      return;
    }
    renderRows(r.data.targets);
  };

  function startEdit(t) {
    editing = t.id;
    $("ans-queue").value = t.queue;
    fillServices(t.service);
    $("ans-wait").value = t.max_wait_minutes;
    $("ans-attention").value = t.max_attention_minutes;
    $("ans-from").value = t.valid_from;
    $("ans-to").value = t.valid_to || "";
    $("ans-form-title").textContent = `Corregir el ANS de ${describe(t)}`;
    $("ans-save").textContent = "Guardar la corrección";
    $("ans-cancel").hidden = false;
    say("ans-message", "");
    $("ans-queue").focus();
  }

  function stopEdit() {
    editing = null;
    $("ans-form").reset();
    fillServices(null);
    $("ans-form-title").textContent = "Registrar un ANS";
    $("ans-save").textContent = "Registrar ANS";
    $("ans-cancel").hidden = true;
  }

  async function remove(t) {
    if (!confirm(`¿Borrar el ANS de ${describe(t)}? Los días que medía pasarán a medirse con el ANS que quede vigente.`)) return;
    const r = await api("DELETE", `/api/v1/ans/${t.id}`);
    if (Sup.report("ans-message", r, "ANS borrado.")) {
      if (editing === t.id) stopEdit();
      await Promise.all([Sup.refreshAns(), Sup.loadReport()]);
    }
  }

  async function save(ev) {
    ev.preventDefault();
    const from = $("ans-from").value, to = $("ans-to").value;
    if (to && to < from) {
      say("ans-message", "La fecha «Vigente hasta» no puede ser anterior a «Vigente desde».", true);
      return;
    }
    const data = {
      queue: $("ans-queue").value,
      service: $("ans-service").value ? Number($("ans-service").value) : null,
      max_wait_minutes: Number($("ans-wait").value),
      max_attention_minutes: Number($("ans-attention").value),
      valid_from: from,
      valid_to: to || null,
    };
    const r = editing == null ? await api("POST", "/api/v1/ans", data)
      : await api("PUT", `/api/v1/ans/${editing}`, data);
    if (Sup.report("ans-message", r, editing == null ? "ANS registrado." : "ANS corregido.")) {
      stopEdit();
      await Promise.all([Sup.refreshAns(), Sup.loadReport()]);
    }
  }

  Sup.wireAns = function () {
    $("ans-queue").addEventListener("change", () => fillServices(null));
    $("ans-form").addEventListener("submit", async (ev) => {
      const submit = $("ans-save");
      if (submit.disabled) { ev.preventDefault(); return; }
      submit.disabled = true;
      try { await save(ev); } finally { submit.disabled = false; }
    });
    $("ans-cancel").addEventListener("click", () => { stopEdit(); say("ans-message", ""); });
  };
})(window.Sup);
