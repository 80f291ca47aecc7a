// Public reports: what the public reported through /report, for supervisors. A map of the
// reports (grouped into clusters on a pixel grid, redrawn at each zoom: no library), a
// place x hour-of-week heat table (an operation's places when one is chosen, else squares
// of 500 m), filters by kind and period, each report's detail with the reporter's contact,
// marking a report spam or a duplicate of another, and CSV and GeoJSON exports. Dates are
// the browser's local days, sent as UTC instants; the heat table's hours are on its own
// clock (the operation's, else the planning timezone).

import { clear, dayStart, dayTime, download, el, makeMap } from "./common.js";

const API = "/api/console/public-reports";
const KINDS = ["catcalling", "following", "intimidation", "physical", "vehicle", "other"];
const KIND_COLOURS = {
  catcalling: "#c62828", following: "#6a1b9a", intimidation: "#ef6c00",
  physical: "#b71c1c", vehicle: "#1565c0", other: "#546e7a",
};
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const CLUSTER_PX = 56; // reports closer than this on screen share a cluster

let ctx;
let map = null;
let layer = null;
let reports = []; // the list's rows
let timezone;
let chosen = null; // the report shown in the detail
let asked = 0;
const $ = (id) => document.getElementById(id);
const humane = (s) => s.replaceAll("_", " ");

export function mount(c) {
  ctx = c;
  const kinds = KINDS.map((k) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", class: "pr-kind", value: k, checked: true, onchange: () => load() }), humane(k)));
  clear(
    ctx.root,
    el("div", { class: "public-reports" },
      el("div", { class: "toolbar" },
        el("label", {}, "Places", el("select", { id: "pr-operation", onchange: () => load() })),
        el("label", {}, "Happened from", el("input", { id: "pr-from", type: "date", onchange: () => load() })),
        el("label", {}, "to", el("input", { id: "pr-to", type: "date", onchange: () => load() })),
        el("fieldset", { class: "pr-kinds" }, el("legend", {}, "Kinds"), kinds),
        el("label", { class: "check" }, el("input", { type: "checkbox", id: "pr-marked", onchange: () => load() }), "Show spam and duplicates"),
        el("button", { type: "button", id: "pr-refresh", onclick: () => load() }, "Refresh"),
        el("button", { type: "button", id: "pr-csv", onclick: () => exportAs("csv") }, "Export CSV"),
        el("button", { type: "button", id: "pr-geojson", onclick: () => exportAs("geojson") }, "Export GeoJSON")),
      el("p", { id: "pr-problem", class: "problem", role: "alert" }),
      el("div", { class: "pr-top" },
        el("div", { class: "panel" },
          el("div", { class: "row" }, el("h2", {}, "Reports on the map"), el("span", { class: "spacer" }),
            el("span", { class: "muted", id: "pr-count" })),
          el("div", { id: "pr-map", "data-testid": "pr-map" }),
          el("p", { class: "muted small-note" }, "A number is a cluster of reports near each other: click it to zoom in. A dot is one report: click it for its detail.")),
        el("div", { class: "panel", id: "pr-detail" }, el("p", { class: "muted" }, "Choose a report on the map."))),
      el("div", { class: "panel", id: "pr-heat-panel" }, el("h2", {}, "When and where"), el("div", { id: "pr-heat" }))),
  );
  map = makeMap($("pr-map"));
  $("pr-map").reportsMap = map; // for browser tests
  layer = L.layerGroup().addTo(map);
  map.on("zoomend", drawClusters);
}

export async function show() {
  if (!$("pr-from").value && !$("pr-to").value) lastDays(90);
  await loadOperations();
  await load();
  map.invalidateSize();
}

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function lastDays(n) {
  const today = new Date();
  const from = new Date();
  from.setDate(from.getDate() - (n - 1));
  $("pr-from").value = isoDay(from);
  $("pr-to").value = isoDay(today);
}

async function loadOperations() {
  const select = $("pr-operation");
  const was = select.value;
  let ops = [];
  try {
    ops = await ctx.api("GET", "/api/operations");
  } catch (error) {
    $("pr-problem").textContent = error.message;
  }
  const ordered = [...ops].sort((a, b) => b.window_start.localeCompare(a.window_start));
  clear(select,
    el("option", { value: "" }, "None: squares of 500 m"),
    ordered.map((op) => el("option", { value: op.id }, `${op.name} (${op.state})`)));
  select.value = ordered.some((op) => op.id === was) ? was : "";
}

// The filter as the API's query; or a sentence saying what is wrong.
function query() {
  const params = new URLSearchParams();
  const from = $("pr-from").value;
  const to = $("pr-to").value;
  if (from && to && to < from) return { problem: "The 'to' date is before the 'from' date." };
  if (from) params.set("since", dayStart(from));
  if (to) params.set("until", dayStart(to, 1));
  const kinds = [...document.querySelectorAll(".pr-kind")].filter((b) => b.checked).map((b) => b.value);
  if (!kinds.length) return { problem: "Choose at least one kind." };
  if (kinds.length < KINDS.length) for (const k of kinds) params.append("kind", k);
  if (!$("pr-marked").checked) params.append("status", "new");
  return { params };
}

async function load() {
  const mine = ++asked;
  const { params, problem } = query();
  if (problem) {
    $("pr-problem").textContent = problem;
    return;
  }
  const heatParams = new URLSearchParams(params);
  if ($("pr-operation").value) heatParams.set("operation", $("pr-operation").value);
  let list;
  let heat;
  try {
    [list, heat] = await Promise.all([ctx.api("GET", `${API}?${params}`), ctx.api("GET", `${API}/heat?${heatParams}`)]);
  } catch (error) {
    if (mine === asked) $("pr-problem").textContent = error.message;
    return;
  }
  if (mine !== asked) return;
  $("pr-problem").textContent = "";
  reports = list.reports;
  timezone = heat.timezone;
  $("pr-count").textContent = list.total > reports.length
    ? `the newest ${reports.length} of ${list.total} reports` : `${list.total} report${list.total === 1 ? "" : "s"}`;
  fit();
  drawClusters();
  renderHeat(heat);
  if (chosen && !reports.some((r) => r.id === chosen)) showNothing();
}

function exportAs(kind) {
  const { params, problem } = query();
  if (problem) $("pr-problem").textContent = problem;
  else download(`${API}.${kind}?${params}`);
}

// --- the map: a grid of CLUSTER_PX on screen, recomputed at each zoom ---------------------------

function fit() {
  if (!reports.length) return;
  const bounds = L.latLngBounds(reports.map((r) => [r.lat, r.lon]));
  map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
}

// Reports grouped by the grid cell their point falls in at this zoom.
export function clusters(points, project, size = CLUSTER_PX) {
  const cells = new Map();
  for (const r of points) {
    const p = project(r);
    const key = `${Math.floor(p.x / size)}:${Math.floor(p.y / size)}`;
    if (!cells.has(key)) cells.set(key, []);
    cells.get(key).push(r);
  }
  return [...cells.values()];
}

function drawClusters() {
  if (!layer) return;
  layer.clearLayers();
  const groups = clusters(reports, (r) => map.project([r.lat, r.lon], map.getZoom()));
  for (const group of groups) {
    if (group.length === 1) {
      const r = group[0];
      L.circleMarker([r.lat, r.lon], {
        radius: 7, color: "#fff", weight: 2, fillColor: KIND_COLOURS[r.kind] || "#546e7a",
        fillOpacity: r.status === "new" ? 0.9 : 0.35, className: `pr-report pr-status-${r.status}`,
      })
        .bindTooltip(`${humane(r.kind)}, ${dayTime(r.occurred_at, timezone)}`)
        .on("click", () => openReport(r.id))
        .addTo(layer);
      continue;
    }
    const lat = group.reduce((a, r) => a + r.lat, 0) / group.length;
    const lon = group.reduce((a, r) => a + r.lon, 0) / group.length;
    const size = Math.round(26 + 8 * Math.log10(group.length));
    L.marker([lat, lon], {
      icon: L.divIcon({ className: "pr-cluster", html: `<span>${group.length}</span>`, iconSize: [size, size] }),
      title: `${group.length} reports`,
      keyboard: true,
    })
      .on("click", () => openCluster(group))
      .addTo(layer);
  }
  $("pr-map").dataset.clusters = String(groups.filter((g) => g.length > 1).length);
  $("pr-map").dataset.singles = String(groups.filter((g) => g.length === 1).length);
}

function openCluster(group) {
  const bounds = L.latLngBounds(group.map((r) => [r.lat, r.lon]));
  const spread = bounds.getNorthEast().distanceTo(bounds.getSouthWest());
  if (spread > 5 && map.getZoom() < map.getMaxZoom()) {
    map.fitBounds(bounds, { padding: [40, 40], maxZoom: map.getMaxZoom() });
    return;
  }
  // All at one spot (positions are rounded): list them to choose from.
  clear($("pr-detail"),
    el("h2", {}, `${group.length} reports at one spot`),
    el("ul", { class: "pr-spot" }, group.map((r) =>
      el("li", {}, el("button", { type: "button", class: "small", onclick: () => openReport(r.id) },
        `${humane(r.kind)}, ${dayTime(r.occurred_at, timezone)}`), " ", statusPill(r.status)))));
}

// --- one report ------------------------------------------------------------------------------

function statusPill(status) {
  return el("span", { class: `pill pr-${status}` }, status);
}

function showNothing() {
  chosen = null;
  clear($("pr-detail"), el("p", { class: "muted" }, "Choose a report on the map."));
}

async function openReport(id) {
  chosen = id;
  let r;
  try {
    r = await ctx.api("GET", `${API}/${encodeURIComponent(id)}`);
  } catch (error) {
    ctx.toast(error.message, "error");
    return;
  }
  if (chosen !== id) return;
  renderDetail(r);
}

function renderDetail(r) {
  const problem = el("p", { class: "problem", role: "alert", id: "pr-mark-problem" });
  const original = el("input", { id: "pr-duplicate-of", size: 34, maxlength: 32, placeholder: "the original report's id" });
  const line = (label, value, id) => el("tr", {}, el("th", {}, label), el("td", { id }, value));
  clear(
    $("pr-detail"),
    el("div", { class: "row" }, el("h2", { id: "pr-detail-title" }, humane(r.kind)), statusPill(r.status),
      r.demo ? el("span", { class: "pill" }, "demo") : null),
    el("table", { class: "pr-facts" },
      line("Happened", dayTime(r.occurred_at, timezone), "pr-occurred"),
      line("Received", dayTime(r.received_at, timezone), "pr-received"),
      line("Where", `${r.lat.toFixed(4)}, ${r.lon.toFixed(4)}`, "pr-where"),
      line("What she said", r.description || "-", "pr-description"),
      line("Vehicle", r.vehicle_reg || "-", "pr-vehicle"),
      line("Language", r.language, "pr-language"),
      line("Contact", r.contact || "none given", "pr-contact"),
      r.duplicate_of ? line("Duplicate of", el("button", { type: "button", class: "small link-like", onclick: () => openReport(r.duplicate_of) }, r.duplicate_of), "pr-original") : null,
      r.duplicates.length ? line("Its duplicates", r.duplicates.join(", "), "pr-duplicates") : null,
      line("Report id", el("code", {}, r.id), "pr-id")),
    el("p", { class: "muted small-note" }, "The contact is for following the report up; opening a report is recorded in the audit trail."),
    el("div", { class: "row pr-actions" },
      r.status !== "spam" && el("button", { type: "button", class: "danger", id: "pr-mark-spam", onclick: () => mark(r, { status: "spam" }, problem) }, "Mark spam"),
      r.status !== "new" && el("button", { type: "button", id: "pr-mark-new", onclick: () => mark(r, { status: "new" }, problem) }, "Mark new again")),
    el("div", { class: "row pr-actions" },
      original,
      el("button", { type: "button", id: "pr-mark-duplicate",
        onclick: () => mark(r, { status: "duplicate", duplicate_of: original.value.trim() }, problem) }, "Mark duplicate")),
    problem,
  );
}

async function mark(r, body, problem) {
  problem.textContent = "";
  try {
    const after = await ctx.api("POST", `${API}/${encodeURIComponent(r.id)}/status`, body);
    ctx.toast(`Report marked ${after.status}.`, "ok");
    await load();
    chosen = after.id;
    renderDetail(after);
  } catch (error) {
    problem.textContent = error.message;
  }
}

// --- the heat table: a row per place or square, 168 hours of the week ---------------------------

function renderHeat(heat) {
  const most = Math.max(1, ...heat.rows.flatMap((r) => r.counts));
  const head1 = el("tr", {}, el("th", { rowspan: 2 }, heat.rows_are === "places" ? "Place" : "Square (centre)"),
    DAYS.map((d) => el("th", { colspan: 24, class: "pr-day" }, d)), el("th", { rowspan: 2, class: "num" }, "Total"));
  const head2 = el("tr", {}, DAYS.flatMap(() => Array.from({ length: 24 }, (_, h) =>
    el("th", { class: "pr-hour" }, h % 6 === 0 ? String(h).padStart(2, "0") : ""))));
  const body = heat.rows.map((row) =>
    el("tr", { dataset: { key: row.key, testid: "heat-row" } },
      el("th", { class: "pr-place", title: row.name }, row.name),
      row.counts.map((n, i) => {
        const t = n / most;
        const when = `${DAYS[Math.floor(i / 24)]} ${String(i % 24).padStart(2, "0")}:00`;
        return el("td", {
          class: n ? "pr-cell hot" : "pr-cell",
          dataset: { hour: String(i), count: String(n) },
          title: `${row.name}, ${when}: ${n} report${n === 1 ? "" : "s"}`,
          style: n ? `background: rgba(183, 28, 28, ${(0.15 + 0.85 * t).toFixed(2)})` : undefined,
        }, n ? String(n) : "");
      }),
      el("td", { class: "num pr-total" }, String(row.total))));
  clear(
    $("pr-heat"),
    el("p", { class: "muted", id: "pr-heat-note" },
      `${heat.reports} report${heat.reports === 1 ? "" : "s"} in the period; hours on the ${heat.timezone} clock; `,
      heat.rows_are === "places"
        ? "a report counts for every place it is within."
        : `rows are squares of ${heat.square_m} m, the busiest first; choose an operation for its places.`),
    heat.rows.length
      ? el("div", { class: "pr-heat-scroll" }, el("table", { class: "pr-heat", id: "pr-heat-table" }, el("thead", {}, head1, head2), el("tbody", {}, body)))
      : el("p", { class: "muted", id: "pr-heat-table" }, "No reports in these dates."),
  );
}
