// Perceo dashboard: charts from /production.json (uPlot, served from the package) and live updates from /events.
// Data from the server is only ever put into the page as text (textContent) or numbers; never as HTML.
"use strict";

(function () {
  const DAY_S = 86400;

  function chart(container, title, days, values, anomalies, unit) {
    const box = document.createElement("figure");
    box.className = "chart";
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    box.appendChild(caption);
    container.appendChild(box);
    const xs = days.map((d) => Date.parse(d + "T00:00:00Z") / 1000);
    const marked = values.map((v, i) => (anomalies.has(days[i]) ? v : null));
    const opts = {
      width: 340, height: 160,
      scales: { x: { time: true } },
      legend: { show: false },
      series: [
        {},
        { label: title, stroke: "#0b5cad", width: 2, spanGaps: false, value: (u, v) => (v == null ? "—" : v + unit) },
        { label: "anomaly", stroke: "transparent", points: { show: true, size: 9, stroke: "#b42318", fill: "#b42318" } },
      ],
      axes: [{}, { size: 64 }],
    };
    // eslint-disable-next-line no-undef
    new uPlot(opts, [xs, values, marked], box);
    if (anomalies.size) {
      const list = document.createElement("p");
      list.className = "anomaly-list";
      list.textContent = "anomalies: " + Array.from(anomalies).join(", ");
      box.appendChild(list);
    }
  }

  async function drawCharts() {
    const containers = document.querySelectorAll(".charts[data-flow]");
    if (!containers.length || typeof uPlot === "undefined") return;
    const response = await fetch("/production.json", { credentials: "same-origin" });
    if (!response.ok) return;
    const body = await response.json();
    const byFlow = new Map(body.series.map((s) => [s.flow_id, s]));
    containers.forEach((container) => {
      const s = byFlow.get(container.dataset.flow);
      if (!s) return;
      container.replaceChildren();
      const marks = (metric) => new Set((s.anomalies || []).filter((a) => a.metric === metric).map((a) => a.day));
      const pct = s.success_rate.map((v) => (v == null ? null : Math.round(v * 1000) / 10));
      chart(container, "Success rate (%)", s.days, pct, marks("success_rate"), "%");
      chart(container, "Users per day", s.days, s.users, marks("users"), "");
      chart(container, "Duration (ms)", s.days, s.duration_ms, marks("duration_ms"), " ms");
    });
  }

  let refreshTimer = null;
  function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("main");
      const main = document.getElementById("main");
      if (fresh && main) {
        main.replaceChildren(...Array.from(fresh.childNodes).map((n) => document.importNode(n, true)));
        drawCharts();
      }
    }, 400);
  }

  function live() {
    if (document.body.dataset.live !== "on" || typeof EventSource === "undefined") return;
    const status = document.getElementById("live");
    const source = new EventSource("/events");
    source.addEventListener("open", () => status.classList.add("on"));
    source.addEventListener("error", () => status.classList.remove("on"));
    source.addEventListener("perceo", (message) => {
      const event = JSON.parse(message.data);
      const at = new Date(event.at).toLocaleTimeString();
      status.textContent = "live: " + event.type + " at " + at;
      refresh();
    });
  }

  drawCharts();
  live();
})();
