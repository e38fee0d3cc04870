// What the box did by itself (open and close the day, stop issuing, backups, pruning), with
// each job's last result, and the centre's hours for the coming days with holidays named.
"use strict";

(function (Sup) {
  const { $, api, cell } = Sup;
  const STATUS = { ok: "Correcta", error: "Con error", never: "Aún no se ejecutó" };
  const KIND = { weekday: "", holiday: "Feriado", closure: "Cierre del centro" };

  // The centre's clock (America/Lima), not the browser's: a run at 07:45 shows as 07:45.
  function when(iso) {
    return Sup.dateTime(iso);
  }

  Sup.refreshScheduler = async function () {
    if (!Sup.canManage()) return;
    const r = await api("GET", "/api/v1/scheduler");
    if (r.status !== 200) return;
    const s = r.data;
    $("scheduler-state").textContent = s.running
      ? (s.failed.length ? `Tareas con error: ${s.failed.join(", ")}.` : "Todas las tareas al día.")
      : "Las tareas automáticas no están activas (modo manual o modo seguro).";
    const rows = $("scheduler-jobs");
    rows.replaceChildren();
    for (const job of Object.values(s.jobs)) {
      const tr = document.createElement("tr");
      tr.append(cell("th", job.title), cell("td", when(job.last_run)),
                cell("td", job.error || STATUS[job.status] || job.status),
                cell("td", when(job.next_run)));
      rows.appendChild(tr);
    }
    const days = $("scheduler-days");
    days.replaceChildren();
    for (const d of s.calendar.slice(0, 7)) {
      const li = document.createElement("li");
      const hours = d.opens ? `${d.opens.slice(11, 16)}–${d.closes.slice(11, 16)}` : "cerrado";
      const note = [KIND[d.kind] || "", d.holiday || ""].filter(Boolean).join(": ");
      li.textContent = `${d.date}: ${hours}${note ? " (" + note + ")" : ""}`;
      days.appendChild(li);
    }
  };
})(window.Sup);
