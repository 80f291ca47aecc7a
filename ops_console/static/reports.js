// Reports: one operation's alerts in figures (count, response times, outcomes), two charts
// (alerts by the operation's local hour, alerts by place; Chart.js, served locally), the
// alerts themselves, and the CSV export.

import { clear, dayTime, download, el, seconds } from "./common.js";

let ctx;
let operations = [];
let charts = [];
let asked = 0;
const $ = (id) => document.getElementById(id);
const humane = (s) => s.replaceAll("_", " ");

export function mount(c) {
  ctx = c;
  clear(
    ctx.root,
    el(
      "div",
      { class: "reports" },
      el(
        "div",
        { class: "toolbar" },
        el("label", {}, "Operation", el("select", { id: "report-operation", onchange: () => load($("report-operation").value) })),
        el("button", { type: "button", id: "report-refresh", onclick: () => load($("report-operation").value) }, "Refresh"),
        el("button", { type: "button", id: "report-csv", disabled: true, onclick: exportCsv }, "Export CSV"),
      ),
      el("p", { id: "report-problem", class: "problem", role: "alert" }),
      el("div", { id: "report-body", "data-testid": "report" }),
    ),
  );
}

export async function show(operationKey) {
  await loadOperations();
  const select = $("report-operation");
  const wanted = operations.find((op) => op.id === operationKey || op.name === operationKey);
  if (wanted) select.value = wanted.id;
  if (select.value) await load(select.value);
}

async function loadOperations() {
  try {
    operations = await ctx.api("GET", "/api/operations");
  } catch (error) {
    $("report-problem").textContent = error.message;
    return;
  }
  const select = $("report-operation");
  const chosen = select.value;
  // The latest operation first: the one a supervisor most likely wants.
  const ordered = [...operations].sort((a, b) => b.window_start.localeCompare(a.window_start));
  clear(select, ordered.map((op) => el("option", { value: op.id }, `${op.name} (${op.state})`)));
  if (!ordered.length) {
    clear($("report-body"), el("p", { class: "muted" }, "No operation yet: create one under Planning."));
    return;
  }
  select.value = ordered.some((op) => op.id === chosen) ? chosen : ordered[0].id;
}

async function load(operationId) {
  const mine = ++asked;
  let report;
  try {
    report = await ctx.api("GET", `/api/console/operations/${encodeURIComponent(operationId)}/report`);
  } catch (error) {
    if (mine === asked) $("report-problem").textContent = error.message;
    return;
  }
  if (mine !== asked) return;
  $("report-problem").textContent = "";
  $("report-csv").disabled = false;
  render(report);
}

function exportCsv() {
  const id = $("report-operation").value;
  if (id) download(`/api/console/operations/${encodeURIComponent(id)}/report.csv`);
}

function figure(id, label, value, note) {
  return el(
    "div",
    { class: "figure", "data-testid": id },
    el("div", { class: "value", id }, value),
    el("div", { class: "label" }, label),
    note ? el("div", { class: "muted small-note" }, note) : null,
  );
}

function counts(title, id, entries) {
  return el(
    "div",
    { class: "panel counts" },
    el("h3", {}, title),
    entries.length
      ? el("ul", { class: "plain", id }, entries.map(([k, n]) => el("li", {}, el("span", {}, humane(k)), el("strong", {}, String(n)))))
      : el("p", { class: "muted", id }, "None."),
  );
}

function render(r) {
  for (const chart of charts) chart.destroy();
  charts = [];
  const body = $("report-body");
  clear(
    body,
    el("h2", { id: "report-title" }, r.operation, el("span", { class: "muted" }, ` · times on the ${r.timezone} clock`)),
    el(
      "div",
      { class: "figures" },
      figure("report-alerts", "alerts", String(r.alerts), r.urgent ? `${r.urgent} urgent` : null),
      figure("report-accept-median", "median to accept", seconds(r.accept.median_s), `${r.accept.count} accepted`),
      figure("report-accept-p90", "90th percentile to accept", seconds(r.accept.p90_s)),
      figure("report-scene-median", "median to on scene", seconds(r.on_scene.median_s), `${r.on_scene.count} reached`),
      figure("report-scene-p90", "90th percentile to on scene", seconds(r.on_scene.p90_s)),
    ),
    el(
      "div",
      { class: "report-counts" },
      counts("Outcomes", "report-outcomes", Object.entries(r.outcomes)),
      counts("By state", "report-states", Object.entries(r.by_state)),
    ),
    el(
      "div",
      { class: "charts" },
      el("div", { class: "panel chart" }, el("h3", {}, `Alerts by hour (${r.timezone})`), el("div", { class: "chart-box" }, el("canvas", { id: "chart-hour", "aria-label": "Alerts by hour of day", role: "img" }))),
      el("div", { class: "panel chart" }, el("h3", {}, "Alerts by place"), el("div", { class: "chart-box" }, el("canvas", { id: "chart-place", "aria-label": "Alerts by place", role: "img" }))),
    ),
    el(
      "h3",
      {},
      "Alerts",
      r.rows_total > r.rows.length
        ? el("span", { class: "muted", id: "report-rows-note" }, ` (the newest ${r.rows.length} of ${r.rows_total}: the CSV and the incident log have them all)`)
        : null,
    ),
    r.rows.length
      ? el(
          "table",
          { class: "grid", id: "report-rows" },
          el("thead", {}, el("tr", {}, ["Raised", "Officer", "Place", "State", "Crews", "Accept", "On scene", "Outcome"].map((h, i) => el("th", { class: i === 5 || i === 6 ? "num" : undefined }, h)))),
          el(
            "tbody",
            {},
            r.rows.map((a) =>
              el(
                "tr",
                { class: "clickable", dataset: { alertId: a.id }, title: "Open the timeline", onclick: () => ctx.go("incidents", a.id) },
                el("td", {}, dayTime(a.raised_at, r.timezone)),
                el("td", {}, a.officer),
                el("td", {}, a.place || "-"),
                el("td", {}, el("span", { class: `pill state-${a.state}` }, humane(a.state))),
                el("td", {}, a.crews.join(", ") || "-"),
                el("td", { class: "num" }, seconds(a.accept_s)),
                el("td", { class: "num" }, seconds(a.on_scene_s)),
                el("td", {}, a.outcome ? humane(a.outcome) : "-"),
              ),
            ),
          ),
        )
      : el("p", { class: "muted", id: "report-rows" }, "No alert was raised during this operation."),
    el("p", { class: "muted small-note", id: "report-method" }, `How the times are summarised: ${r.method}.`),
  );
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  charts.push(bar($("chart-hour"), hours, r.by_hour, "#0d47a1"));
  charts.push(bar($("chart-place"), r.by_place.map((p) => p.place), r.by_place.map((p) => p.alerts), "#e65100"));
}

function bar(canvas, labels, data, colour) {
  return new Chart(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label: "alerts", data, backgroundColor: colour, maxBarThickness: 48 }] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}
