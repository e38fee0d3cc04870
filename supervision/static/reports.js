// The report page: login, the period and grouping, the table of indicators with its total,
// the charts, and the downloads of the same report (CSV for Excel, JSON). Numbers are shown
// exactly as the CSV writes them (minutes and percentages with one decimal and a decimal
// comma), so what the supervisor reads on the page is what opens in Excel.
"use strict";

(function (Sup, Staff) {
  const { $, api, state, cell } = Sup;
  const ROLES = ["admin", "supervisor"];
  const GROUP_NAMES = {};
  for (const o of $("group").options) GROUP_NAMES[o.value] = o.textContent;
  let asked = 0;           // the newest report asked for; older answers are dropped
  let current = null;      // the report on screen

  // --- numbers as the CSV writes them -----------------------------------------------------

  // Round to one decimal like Python's round(): an exact tie goes to the even digit.
  function round1(x) {
    const scaled = x * 10;
    const floor = Math.floor(scaled);
    if (scaled - floor === 0.5) return (floor % 2 === 0 ? floor : floor + 1) / 10;
    return Math.round(scaled) / 10;
  }

  const comma = (text) => text.replace(".", ",");
  const oneDecimal = (x) => comma(round1(x).toFixed(1));
  const minutes = (seconds) => (seconds == null ? "" : oneDecimal(seconds / 60));
  const percent = (share) => (share == null ? "" : oneDecimal(share * 100));
  // A value already rounded by the server, written as Python writes a float.
  const decimal = (x) => (x == null ? "" : comma(Number.isInteger(x) ? x.toFixed(1) : String(x)));

  function dateText(iso) {
    const [y, m, d] = iso.split("-");
    return `${d}/${m}/${y}`;
  }

  function when(iso) {
    const zone = (state.catalog && state.catalog.centre && state.catalog.centre.timezone) || undefined;
    return new Date(iso).toLocaleString("es-PE", { dateStyle: "short", timeStyle: "short", timeZone: zone });
  }

  // --- the columns of the table -----------------------------------------------------------

  const desk = (name) => (r) => (r.desk ? minutes(name === "paused" ? r.desk.paused_total : r.desk[name]) : "");
  // Two tables side by side in the page's flow, so that neither needs a sideways scroll on a
  // laptop: what happened to the tickets and how long it took; then how well it was done.
  const TABLES = [
    { ids: ["report-head", "report-rows", "report-total"], bands: [
      { band: "Turnos", cols: [
        ["issued", "Emitidos", (r) => String(r.issued)],
        ["served", "Atendidos", (r) => String(r.served)],
        ["no_show", "No se presentaron", (r) => String(r.no_show)],
        ["cancelled", "Anulados", (r) => String(r.cancelled)],
        ["expired", "Vencidos", (r) => String(r.expired)],
        ["transferred", "Derivados", (r) => String(r.transferred)],
        ["in_progress", "En curso", (r) => String(r.in_progress)]] },
      { band: "Espera (min)", cols: [
        ["wait.mean", "Media", (r) => minutes(r.wait.mean)],
        ["wait.median", "Mediana", (r) => minutes(r.wait.median)],
        ["wait.p90", "P90", (r) => minutes(r.wait.p90)],
        ["wait.max", "Máxima", (r) => minutes(r.wait.max)]] },
      { band: "Atención (min)", cols: [
        ["attention.mean", "Media", (r) => minutes(r.attention.mean)],
        ["attention.median", "Mediana", (r) => minutes(r.attention.median)],
        ["attention.p90", "P90", (r) => minutes(r.attention.p90)]] }] },
    { ids: ["report-head-2", "report-rows-2", "report-total-2"], bands: [
      { band: "Dentro del ANS (%)", cols: [
        ["within_wait_target", "Espera", (r) => percent(r.within_wait_target)],
        ["within_attention_target", "Atención", (r) => percent(r.within_attention_target)]] },
      { band: "Espera media (min)", cols: [
        ["wait_preferential.mean", "Preferente", (r) => minutes(r.wait_preferential.mean)],
        ["wait_normal.mean", "General", (r) => minutes(r.wait_normal.mean)]] },
      { band: "Satisfacción", cols: [
        ["satisfaction.count", "Calificaciones", (r) => String(r.satisfaction.count)],
        ["satisfaction.mean", "Media (1 a 5)", (r) => decimal(r.satisfaction.mean)]] },
      { band: "Tiempo del asesor (min)", desk: true, cols: [
        ["desk.serving", "Atendiendo", desk("serving")],
        ["desk.paused", "En pausa", desk("paused")],
        ["desk.idle", "Disponible sin atender", desk("idle")]] }] },
  ];

  function th(text, scope, span, rows) {
    const c = document.createElement("th");
    c.scope = scope;
    c.textContent = text;
    if (span) c.colSpan = span;
    if (rows) c.rowSpan = rows;
    return c;
  }

  // One table: banded headings, a row per group (or a line saying there is none), the total.
  function renderTable(table, report) {
    const withDesk = report.total.desk !== null && report.rows.every((r) => r.desk !== null);
    const used = table.bands.filter((b) => !b.desk || withDesk);
    const [headId, rowsId, totalId] = table.ids;
    const top = document.createElement("tr");
    const bottom = document.createElement("tr");
    top.appendChild(th(GROUP_NAMES[report.group] || "Total", "col", 0, 2));
    used.forEach((b, i) => {
      const band = th(b.band, "colgroup", b.cols.length);
      band.className = `band band-${i % 2}`;
      top.appendChild(band);
      for (const [key, title] of b.cols) {
        const c = th(title, "col");
        c.dataset.col = key;
        bottom.appendChild(c);
      }
    });
    $(headId).replaceChildren(top, bottom);
    const line = (r, isTotal) => {
      const tr = document.createElement("tr");
      tr.dataset.key = isTotal ? "total" : String(r.key);
      if (isTotal) tr.className = "total";
      tr.appendChild(cell("th", r.label));
      for (const b of used) {
        for (const [key, , get] of b.cols) {
          const text = get(r);
          const td = cell("td", text === "" ? "—" : text);
          td.dataset.col = key;
          tr.appendChild(td);
        }
      }
      return tr;
    };
    $(rowsId).replaceChildren(...report.rows.map((r) => line(r, false)));
    $(totalId).replaceChildren(line(report.total, true));
    if (!report.rows.length) {
      const tr = document.createElement("tr");
      const td = cell("td", "Sin turnos en este período.");
      td.colSpan = 1 + used.reduce((n, b) => n + b.cols.length, 0);
      td.className = "empty";
      tr.appendChild(td);
      $(rowsId).appendChild(tr);
    }
  }

  // --- the period and grouping ------------------------------------------------------------

  // The report's query (without the format): a period around a date, or from/to.
  function query() {
    const q = new URLSearchParams();
    const period = $("period").value;
    if (period === "custom") {
      q.set("from", $("from").value);
      q.set("to", $("to").value || $("from").value);
    } else {
      q.set("period", period);
      if ($("date").value) q.set("date", $("date").value);
    }
    q.set("group", $("group").value);
    return q;
  }

  function showPeriodFields() {
    const custom = $("period").value === "custom";
    $("anchor-box").hidden = custom;
    $("from-box").hidden = !custom;
    $("to-box").hidden = !custom;
    $("date").required = !custom;
    $("from").required = custom;
    $("to").required = custom;
    $("date-label").textContent = { day: "Fecha", week: "Un día de la semana", month: "Un día del mes" }[$("period").value] || "Fecha";
  }

  function setLinks(report) {
    const q = new URLSearchParams({ from: report.from, to: report.to, group: report.group || "total" });
    const name = `reporte-${report.group || "total"}-${report.from}-${report.to}`;
    const csv = new URLSearchParams(q);
    csv.set("format", "csv");
    csv.set("separator", ";");
    $("download-csv").href = `/api/v1/reports?${csv}`;
    $("download-csv").setAttribute("download", `${name}.csv`);
    $("download-json").href = `/api/v1/reports?${q}`;
    $("download-json").setAttribute("download", `${name}.json`);
  }

  function summary(report) {
    const range = report.from === report.to ? `Día ${dateText(report.from)}`
      : `Del ${dateText(report.from)} al ${dateText(report.to)}`;
    const days = report.days.length;
    const open = days === 0 ? "sin jornadas de atención"
      : days === 1 ? "1 jornada de atención" : `${days} jornadas de atención`;
    return `${range} · ${open} · agrupado por ${(GROUP_NAMES[report.group] || "total").toLowerCase()}` +
      ` · generado el ${when(report.generated_at)}`;
  }

  async function load() {
    const mine = ++asked;
    const q = query();
    Sup.say("report-message", "Cargando…");
    $("report-tables").setAttribute("aria-busy", "true");
    const r = await api("GET", `/api/v1/reports?${q}`);
    if (mine !== asked) return;  // a newer choice was made meanwhile
    $("report-tables").removeAttribute("aria-busy");
    if (r.status !== 200) {
      Sup.say("report-message", Sup.errorText(r), true);
      return;
    }
    current = r.data;
    history.replaceState(null, "", `${location.pathname}?${q}`);
    if ($("period").value !== "custom") $("date").value = $("date").value || current.from;
    $("from").value = current.from;
    $("to").value = current.to;
    $("group-name").textContent = GROUP_NAMES[current.group] || "Total";
    $("report-summary").textContent = summary(current);
    for (const table of TABLES) renderTable(table, current);
    Sup.drawCharts(current.charts);
    setLinks(current);
    $("report-actions").hidden = false;
    Sup.say("report-message", current.days.length ? "" : "No hubo jornadas de atención en este período.");
    document.body.dataset.report = `${current.group}:${current.from}:${current.to}`;
  }
  Sup.loadReport = load;

  // Choices from the address (?period=week&date=…&group=queue): a reload or a shared link
  // shows the same report.
  function fromAddress() {
    const q = new URLSearchParams(location.search);
    const pick = (id, value) => {
      if (value && [...$(id).options].some((o) => o.value === value)) $(id).value = value;
    };
    pick("group", q.get("group"));
    if (q.get("from")) {
      $("period").value = "custom";
      $("from").value = q.get("from");
      $("to").value = q.get("to") || q.get("from");
    } else {
      pick("period", q.get("period"));
      if (q.get("date")) $("date").value = q.get("date");
    }
    showPeriodFields();
  }

  // --- login and start --------------------------------------------------------------------

  async function boot() {
    if (!(await Sup.signIn(ROLES, "Su rol no permite ver los indicadores; ingrese con una "
                                  + "cuenta de supervisión."))) return;
    const cat = await api("GET", "/api/v1/catalog");
    if (cat.status !== 200) {
      if (cat.status === 0) Staff.retryStart();  // read it all again once the box answers
      return;
    }
    state.catalog = cat.data;
    Sup.fillAnsForm();
    await Promise.all([load(), Sup.refreshAns()]);
  }

  function wire() {
    Sup.wireSession(boot);
    $("report-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      load();
    });
    $("period").addEventListener("change", () => {
      showPeriodFields();
      if ($("period").value === "custom") return;  // wait for both dates and «Ver reporte»
      load();
    });
    for (const id of ["group", "date"]) {
      $(id).addEventListener("change", () => {
        if ($("report-form").checkValidity()) load();
      });
    }
    $("print").addEventListener("click", () => window.print());
    Sup.wireAns();
  }

  fromAddress();
  wire();
  boot();
})(window.Sup, window.Staff);
