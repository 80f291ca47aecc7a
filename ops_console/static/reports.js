// Reports: the alerts of an operation, of any date range, or of both, in figures (count,
// response times, outcomes), two charts (alerts by local hour, alerts by place; Chart.js,
// served locally), the alerts themselves, and the CSV export. Without an operation a
// range takes every alert raised in it, those outside any operation too. Dates are the
// browser's local days, sent as UTC instants. Drills (exercises) are left out unless asked
// for, and reported apart; below the report, false alarms per officer and per operation
// over the last 12 months, officers at the limit flagged.

import { clear, dayStart, dayTime, download, el, seconds } from "./common.js";

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
        el("label", {}, "Operation", el("select", { id: "report-operation", onchange: () => chooseOperation() })),
        el("label", {}, "Raised from", el("input", { id: "report-from", type: "date", onchange: () => load() })),
        el("label", {}, "to", el("input", { id: "report-to", type: "date", onchange: () => load() })),
        el(
          "label",
          {},
          "Alerts",
          el(
            "select",
            { id: "report-exercises", onchange: () => load() },
            el("option", { value: "real" }, "Real only"),
            el("option", { value: "exercise" }, "Exercises only"),
            el("option", { value: "all" }, "Real and exercises"),
          ),
        ),
        el("button", { type: "button", id: "report-refresh", onclick: () => load() }, "Refresh"),
        el("button", { type: "button", id: "report-csv", disabled: true, onclick: exportCsv }, "Export CSV"),
      ),
      el("p", { id: "report-problem", class: "problem", role: "alert" }),
      el("div", { id: "report-body", "data-testid": "report" }),
      el("div", { id: "false-alarms", class: "false-alarms", "data-testid": "false-alarms" }),
    ),
  );
}

export async function show(operationKey) {
  await loadOperations();
  const select = $("report-operation");
  const wanted = operations.find((op) => op.id === operationKey || op.name === operationKey);
  if (wanted) select.value = wanted.id;
  if (!select.value) lastWeek();
  await load();
}

// No operation: a range is needed; the last seven days unless one is chosen.
function lastWeek() {
  if ($("report-from").value || $("report-to").value) return;
  const day = (offset) => {
    const d = new Date();
    d.setDate(d.getDate() + offset);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  };
  $("report-from").value = day(-6);
  $("report-to").value = day(0);
}

async function chooseOperation() {
  if (!$("report-operation").value) lastWeek();
  await load();
}

// What the report covers, as the API's query; or a sentence saying what is missing.
function scope() {
  const params = new URLSearchParams();
  const operation = $("report-operation").value;
  const from = $("report-from").value;
  const to = $("report-to").value;
  if (from && to && to < from) return { problem: "The 'to' date is before the 'from' date." };
  if (!operation && !(from && to)) return { problem: "Choose an operation, or a date range (from and to)." };
  if (operation) params.set("operation", operation);
  else params.set("tz", Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  if (from) params.set("since", dayStart(from));
  if (to) params.set("until", dayStart(to, 1));
  const exercises = $("report-exercises").value;
  if (exercises !== "real") params.set("exercises", exercises);
  return { params };
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
  const ordered = [...operations].sort((a, b) => b.window_start.localeCompare(a.window_start));
  clear(
    select,
    el("option", { value: "" }, "None: every alert in the dates"),
    ordered.map((op) => el("option", { value: op.id }, `${op.name} (${op.state})`)),
  );
  if (select.dataset.filled) {
    select.value = chosen;
  } else {
    // The latest operation first: the one a supervisor most likely wants.
    select.value = ordered.length ? ordered[0].id : "";
    select.dataset.filled = "yes";
  }
}

async function load() {
  const mine = ++asked;
  const { params, problem } = scope();
  if (problem) {
    $("report-problem").textContent = problem;
    $("report-csv").disabled = true;
    return;
  }
  let report;
  try {
    report = await ctx.api("GET", `/api/console/report?${params}`);
  } catch (error) {
    if (mine === asked) $("report-problem").textContent = error.message;
    return;
  }
  if (mine !== asked) return;
  $("report-problem").textContent = "";
  $("report-csv").disabled = false;
  render(report);
  loadFalseAlarms();
}

// False alarms over the last 12 months (rolling, from now), whatever the report's scope.
async function loadFalseAlarms() {
  let figures;
  try {
    figures = await ctx.api("GET", "/api/console/false-alarms");
  } catch (error) {
    clear($("false-alarms"), el("p", { class: "problem" }, error.message));
    return;
  }
  const table = (id, title, rows, who) =>
    rows.length
      ? el(
          "table",
          { class: "grid", id },
          el("thead", {}, el("tr", {}, [who, "Cancelled", "False-alarm outcome", "Total", ""].map((h) => el("th", {}, h)))),
          el(
            "tbody",
            {},
            rows.map((r) =>
              el(
                "tr",
                { class: r.flagged ? "flagged" : undefined, dataset: { id: r.id || "" } },
                el("td", {}, r.name),
                el("td", { class: "num" }, String(r.cancelled)),
                el("td", { class: "num" }, String(r.false_alarm_outcomes)),
                el("td", { class: "num" }, String(r.false_alarms)),
                el("td", {}, r.flagged ? `${figures.limit}+ in ${figures.months} months` : ""),
              ),
            ),
          ),
        )
      : el("p", { class: "muted", id }, `${title}: none.`);
  const day = (iso) => new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
  clear(
    $("false-alarms"),
    el("h2", {}, "False alarms, last ", String(figures.months), " months", el("span", { class: "muted" }, ` · ${day(figures.since)} - ${day(figures.until)}`)),
    el("h3", {}, "By officer"),
    table("false-alarms-officers", "By officer", figures.officers, "Officer"),
    el("h3", {}, "By operation"),
    table("false-alarms-operations", "By operation", figures.operations, "Operation"),
    el("p", { class: "muted small-note" }, `Counted: ${figures.rule}.`),
  );
}

function exportCsv() {
  const { params } = scope();
  if (params) download(`/api/console/report.csv?${params}`);
}

// "1 Mar 2027 - 7 Mar 2027" in the browser's days (until is the start of the day after).
function rangeText(r) {
  if (!r.since && !r.until) return "";
  const day = (iso) => new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
  const from = r.since ? day(r.since) : "the start";
  const to = r.until ? day(new Date(Date.parse(r.until) - 1).toISOString()) : "now";
  return from === to ? from : `${from} - ${to}`;
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
    el(
      "h2",
      { id: "report-title" },
      r.operation ?? "All alerts",
      rangeText(r) ? el("span", { id: "report-range" }, `, ${rangeText(r)}`) : null,
      el("span", { class: "muted" }, ` · times on the ${r.timezone} clock`),
    ),
    el(
      "div",
      { class: "figures" },
      figure(
        "report-alerts",
        r.exercises === "exercise" ? "exercise alerts" : "alerts",
        String(r.alerts),
        [r.urgent ? `${r.urgent} urgent` : null, r.exercises === "real" && r.exercise_alerts ? `${r.exercise_alerts} exercise${r.exercise_alerts > 1 ? "s" : ""} left out` : null].filter(Boolean).join(" · ") || null,
      ),
      figure("report-accept-median", "median to accept", seconds(r.accept.median_s), `${r.accept.count} accepted`),
      figure("report-accept-p90", "90th percentile to accept", seconds(r.accept.p90_s)),
      figure("report-scene-median", "median to on scene", seconds(r.on_scene.median_s), `${r.on_scene.count} reached`),
      figure("report-scene-p90", "90th percentile to on scene", seconds(r.on_scene.p90_s)),
    ),
    // From her press (her phone's clock, corrected by the server): what the alert's own
    // times above leave out, such as an alert held offline before it was sent.
    r.press_received && r.press_received.count
      ? el(
          "div",
          { class: "figures", id: "report-press" },
          figure("report-press-received", "median press to received", seconds(r.press_received.median_s), `${r.press_received.count} with a press time`),
          figure("report-press-offer", "median press to offer", seconds(r.press_offer.median_s), `p90 ${seconds(r.press_offer.p90_s)}`),
          figure("report-press-accept", "median press to accept", seconds(r.press_accept.median_s), `p90 ${seconds(r.press_accept.p90_s)}`),
        )
      : null,
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
                el("td", {}, r.operation_id ? a.place || "-" : a.operation ? `${a.operation} · ${a.place}` : "outside operations"),
                el("td", {}, el("span", { class: `pill state-${a.state}` }, humane(a.state)), a.exercise ? el("span", { class: "pill exercise" }, "EXERCISE") : null),
                el("td", {}, a.crews.join(", ") || "-"),
                el("td", { class: "num" }, seconds(a.accept_s)),
                el("td", { class: "num" }, seconds(a.on_scene_s)),
                el("td", {}, a.outcome ? humane(a.outcome) : "-"),
              ),
            ),
          ),
        )
      : el("p", { class: "muted", id: "report-rows" }, r.operation_id ? `No alert was raised during this operation${r.since || r.until ? " in these dates" : ""}.` : "No alert was raised in these dates."),
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
