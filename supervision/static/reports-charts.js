// The report's three charts, drawn here as plain SVG (no library, nothing from the internet):
// arrivals and served tickets per hour, the waiting-time distribution, and ANS compliance per
// entity. Each chart is one <svg role="img"> whose label says in words what the bars show,
// with a visible caption, axis titles and a legend; colours come from reports.css.
"use strict";

(function (Sup) {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 440, H = 290;
  const M = { left: 60, right: 14, top: 44, bottom: 56 };
  let serial = 0;

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text != null) node.textContent = text;
    return node;
  }

  const plain = (x) => String(Math.round(x * 10) / 10).replace(".", ",");

  // A top for the value axis and its step: 1, 2 or 5 times a power of ten, about 5 ticks.
  function scale(max, fixedTop) {
    if (fixedTop) return { top: fixedTop, step: fixedTop / 5 };
    if (!(max > 0)) return { top: 1, step: 1 };
    const raw = max / 5;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    const step = Math.max(1, (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag);
    return { top: Math.ceil(max / step) * step, step };
  }

  // One grouped bar chart. spec: title, summary (the words a screen reader gets), xTitle,
  // yTitle, categories (one per group of bars), edges (optional: labels at the left edge of
  // each group instead of under its middle, for a histogram's bounds), series [{name,
  // values, unit}], top (a fixed top for the value axis, e.g. 100 for percentages), suffix
  // for the tick labels.
  function barChart(figure, spec) {
    const id = `chart-${++serial}`;
    const caption = document.createElement("figcaption");
    caption.id = `${id}-caption`;
    caption.textContent = spec.title;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg",
                            "aria-label": `${spec.title}. ${spec.summary}` });
    svg.appendChild(el("title", {}, spec.title));
    svg.appendChild(el("desc", {}, spec.summary));
    const plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
    const values = spec.series.flatMap((s) => s.values.filter((v) => v != null));
    const { top, step } = scale(Math.max(0, ...values), spec.top);
    const y = (v) => M.top + plotH - (v / top) * plotH;

    // value axis: grid lines and ticks
    for (let t = 0; t <= top + step / 1000; t += step) {
      svg.appendChild(el("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t),
                                   class: t === 0 ? "axis" : "gridline" }));
      svg.appendChild(el("text", { x: M.left - 6, y: y(t) + 4, class: "tick",
                                   "text-anchor": "end" }, `${plain(t)}${spec.suffix || ""}`));
    }
    svg.appendChild(el("line", { x1: M.left, x2: M.left, y1: M.top, y2: M.top + plotH,
                                 class: "axis" }));
    svg.appendChild(el("text", { x: 14, y: M.top + plotH / 2, class: "axis-title",
                                 "text-anchor": "middle",
                                 transform: `rotate(-90 14 ${M.top + plotH / 2})` }, spec.yTitle));
    svg.appendChild(el("text", { x: M.left + plotW / 2, y: H - 8, class: "axis-title",
                                 "text-anchor": "middle" }, spec.xTitle));

    // legend, top left, when there is more than one series
    if (spec.series.length > 1) {
      let x = M.left;
      spec.series.forEach((s, i) => {
        svg.appendChild(el("rect", { x, y: 8, width: 14, height: 14, class: `swatch series-${i}` }));
        const label = el("text", { x: x + 20, y: 20, class: "legend" }, s.name);
        svg.appendChild(label);
        x += 36 + s.name.length * 7.5;
      });
    }

    const n = spec.categories.length;
    if (!n) {
      svg.appendChild(el("text", { x: M.left + plotW / 2, y: M.top + plotH / 2,
                                   class: "empty", "text-anchor": "middle" },
                         "Sin datos en este período."));
    }
    const band = n ? plotW / n : plotW;
    const gap = band * 0.2;
    const barW = (band - gap) / spec.series.length;
    const tickEvery = Math.max(1, Math.ceil(n / Math.floor(plotW / 40)));
    spec.categories.forEach((category, c) => {
      const x0 = M.left + c * band + gap / 2;
      if (spec.edges) {
        svg.appendChild(el("line", { x1: x0 - gap / 2, x2: x0 - gap / 2, y1: M.top + plotH,
                                     y2: M.top + plotH + 5, class: "axis" }));
        svg.appendChild(el("text", { x: x0 - gap / 2, y: M.top + plotH + 18, class: "tick",
                                     "text-anchor": "middle" }, spec.edges[c]));
      } else if (c % tickEvery === 0) {
        svg.appendChild(el("text", { x: x0 + (band - gap) / 2, y: M.top + plotH + 18,
                                     class: "tick", "text-anchor": "middle" }, category));
      }
      spec.series.forEach((s, i) => {
        const v = s.values[c];
        const x = x0 + i * barW;
        if (v == null) {
          svg.appendChild(el("text", { x: x + barW / 2, y: M.top + plotH - 4, class: "value",
                                       "text-anchor": "middle" }, "s/d"));
          return;
        }
        const bar = el("rect", { x, y: y(v), width: Math.max(1, barW - 1),
                                 height: Math.max(0, M.top + plotH - y(v)),
                                 class: `chart-bar series-${i}`, "data-value": v });
        bar.appendChild(el("title", {}, `${s.name}, ${category}: ${plain(v)}${s.unit || ""}`));
        svg.appendChild(bar);
        if (barW >= 16) {
          svg.appendChild(el("text", { x: x + barW / 2, y: y(v) - 4, class: "value",
                                       "text-anchor": "middle" }, plain(v)));
        }
      });
    });
    figure.replaceChildren(caption, svg);
  }

  const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const hour = (h) => `${String(h).padStart(2, "0")} h`;
  const range = (b) => (b.to_minutes == null ? `${b.from_minutes} o más` : `${b.from_minutes} a ${b.to_minutes}`);
  const share = (v) => (v == null ? null : Math.round(v * 1000) / 10);
  const shareText = (v) => (v == null ? "sin datos" : `${plain(v)} %`);

  Sup.drawCharts = function (charts) {
    const hours = charts.by_hour;
    barChart(document.getElementById("chart-hour"), {
      title: "Llegadas y atendidos por hora",
      summary: hours.length ? hours.map((h) => `${hour(h.hour)}: ${count(h.arrivals, "llegada", "llegadas")}, ` +
        `${count(h.served, "atendido", "atendidos")}`).join("; ") + "."
        : "Sin datos en este período.",
      xTitle: "Hora del día (de llegada o de fin de la atención)",
      yTitle: "Turnos",
      categories: hours.map((h) => hour(h.hour)),
      series: [{ name: "Llegadas", values: hours.map((h) => h.arrivals) },
               { name: "Atendidos", values: hours.map((h) => h.served) }],
    });
    const waits = charts.wait_distribution;
    const called = waits.reduce((n, b) => n + b.count, 0);
    barChart(document.getElementById("chart-wait"), {
      title: "Distribución del tiempo de espera",
      summary: called ? waits.filter((b) => b.count).map((b) => `${range(b)} min: ${count(b.count, "llamado", "llamados")}`).join("; ") + "."
        : "Nadie fue llamado en este período.",
      xTitle: "Minutos de espera (última barra: 120 o más)",
      yTitle: "Turnos llamados",
      categories: waits.map(range),
      edges: waits.map((b) => String(b.from_minutes)),
      series: [{ name: "Turnos llamados", values: waits.map((b) => b.count) }],
    });
    const ans = charts.ans_by_entity;
    barChart(document.getElementById("chart-ans"), {
      title: "Cumplimiento del ANS por entidad",
      summary: ans.length ? ans.map((a) => `${a.label}: espera ${shareText(share(a.within_wait_target))}, ` +
        `atención ${shareText(share(a.within_attention_target))}`).join("; ") + "."
        : "Sin datos en este período.",
      xTitle: "Entidad",
      yTitle: "% dentro del ANS",
      categories: ans.map((a) => a.label),
      series: [{ name: "Espera dentro del ANS", unit: " %", values: ans.map((a) => share(a.within_wait_target)) },
               { name: "Atención dentro del ANS", unit: " %", values: ans.map((a) => share(a.within_attention_target)) }],
      top: 100,
      suffix: " %",
    });
  };
})(window.Sup);
