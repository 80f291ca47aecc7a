// Incidents: the searchable log of every alert, and each alert's timeline (raised, offered
// to whom and when, accepted, on scene, escalations, supervisors' actions and notes, outcome).

import { clear, dayStart, dayTime, el, seconds } from "./common.js";

const STATES = ["open", "raised", "dispatching", "unassigned", "assigned", "on_scene", "resolved", "cancelled"];
const PAGE = 100;

let ctx;
let openId = null;
let asked = 0; // the newest log request: older answers are dropped
let cursor = null;
let searchTimer = null;
let liveTimer = null;
const $ = (id) => document.getElementById(id);

export function mount(c) {
  ctx = c;
  const q = el("input", {
    id: "incident-q",
    type: "search",
    placeholder: "Name, crew, place, outcome, note…",
    title: "Searches officer, crew callsign, operation, place, category, outcome, notes and alert id",
    "aria-label": "Search alerts",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => loadLog(), 250);
    },
  });
  const state = el(
    "select",
    { id: "incident-state", onchange: () => loadLog() },
    el("option", { value: "" }, "Any"),
    STATES.map((s) => el("option", { value: s }, s.replace("_", " "))),
  );
  const operation = el("select", { id: "incident-operation", onchange: () => loadLog() }, el("option", { value: "" }, "Any"));
  const since = el("input", { id: "incident-since", type: "date", onchange: () => loadLog() });
  const until = el("input", { id: "incident-until", type: "date", onchange: () => loadLog() });
  clear(
    ctx.root,
    el(
      "div",
      { class: "incidents" },
      el(
        "div",
        { class: "incidents-log" },
        el(
          "form",
          { class: "toolbar", role: "search", onsubmit: (e) => (e.preventDefault(), loadLog()) },
          el("label", {}, "Search", q),
          el("label", {}, "State", state),
          el("label", {}, "Operation", operation),
          el("label", {}, "Raised from", since),
          el("label", {}, "to", until),
        ),
        el("p", { id: "incident-problem", class: "problem", role: "alert" }),
        el(
          "table",
          { class: "grid", id: "incident-log", "data-testid": "incident-log" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["Raised", "Officer", "State", "Category", "Operation / place", "Crews", "Accept", "On scene", "Outcome"].map(
                (h, i) => el("th", { class: i >= 6 && i <= 7 ? "num" : undefined }, h),
              ),
            ),
          ),
          el("tbody", { id: "incident-rows" }),
        ),
        el("p", { id: "incident-count", class: "muted" }),
        el("button", { type: "button", id: "incident-more", hidden: true, onclick: () => loadLog(true) }, "Older alerts"),
      ),
      el("aside", { id: "incident-timeline", class: "panel incident-timeline", hidden: true, "data-testid": "timeline" }),
    ),
  );
  loadOperations();
  ctx.on((kind, frame) => {
    if (!["alert", "offer"].includes(kind) || ctx.root.hidden) return;
    clearTimeout(liveTimer);
    liveTimer = setTimeout(() => {
      loadLog();
      const changed = frame.alert?.id || frame.offer?.alert_id;
      if (openId && changed === openId) openTimeline(openId, { quiet: true });
    }, 800);
  });
}

export function show(alertId) {
  loadLog();
  if (alertId) openTimeline(alertId);
}

async function loadOperations() {
  try {
    const ops = await ctx.api("GET", "/api/operations");
    const select = $("incident-operation");
    const chosen = select.value;
    clear(select, el("option", { value: "" }, "Any"), ops.map((op) => el("option", { value: op.id }, op.name)));
    select.value = chosen;
  } catch (error) {
    ctx.toast(error.message, "error");
  }
}

function query() {
  const params = new URLSearchParams();
  const q = $("incident-q").value.trim();
  if (q) params.set("q", q);
  if ($("incident-state").value) params.set("state", $("incident-state").value);
  if ($("incident-operation").value) params.set("operation", $("incident-operation").value);
  const since = dayStart($("incident-since").value);
  const until = dayStart($("incident-until").value, 1);
  if (since) params.set("since", since);
  if (until) params.set("until", until);
  params.set("limit", String(PAGE));
  return params;
}

async function loadLog(more = false) {
  const params = query();
  if (more && cursor) params.set("cursor", cursor);
  const mine = ++asked;
  let page;
  try {
    page = await ctx.api("GET", `/api/console/alerts?${params}`);
  } catch (error) {
    if (mine !== asked) return;
    $("incident-problem").textContent = error.message;
    return;
  }
  if (mine !== asked) return;
  $("incident-problem").textContent = "";
  cursor = page.next_cursor;
  const body = $("incident-rows");
  const rows = page.alerts.map(row);
  if (more) body.append(...rows);
  else clear(body, rows);
  const shown = body.children.length;
  $("incident-count").textContent = shown
    ? `${shown} alert${shown === 1 ? "" : "s"}${cursor ? " (more below)" : ""}`
    : "No alert matches.";
  $("incident-more").hidden = !cursor;
  $("incident-log").dataset.query = params.get("q") || ""; // what the rows shown answer
  markOpen();
}

function row(a) {
  const where = [a.operation, a.place].filter(Boolean).join(" / ") || "-";
  return el(
    "tr",
    {
      class: "clickable",
      dataset: { alertId: a.id },
      tabindex: 0,
      onclick: () => openTimeline(a.id),
      onkeydown: (e) => e.key === "Enter" && openTimeline(a.id),
    },
    el("td", {}, dayTime(a.raised_at)),
    el("td", {}, a.officer),
    el(
      "td",
      {},
      el("span", { class: `pill state-${a.state}` }, a.state.replace("_", " ")),
      a.urgent ? [" ", el("span", { class: "pill urgent" }, "urgent")] : null,
      a.exercise ? [" ", el("span", { class: "pill exercise" }, "EXERCISE")] : null,
    ),
    el("td", {}, a.category || "-"),
    el("td", {}, where),
    el("td", {}, a.crews.join(", ") || "-"),
    el("td", { class: "num" }, seconds(a.accept_s)),
    el("td", { class: "num" }, seconds(a.on_scene_s)),
    el("td", {}, a.outcome ? a.outcome.replaceAll("_", " ") : "-"),
  );
}

function markOpen() {
  for (const tr of $("incident-rows").children) tr.classList.toggle("selected", tr.dataset.alertId === openId);
}

const clock = (iso) =>
  new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

async function openTimeline(alertId, { quiet = false } = {}) {
  const panel = $("incident-timeline");
  openId = alertId;
  markOpen();
  history.replaceState(null, "", `#incidents/${encodeURIComponent(alertId)}`);
  let story;
  try {
    story = await ctx.api("GET", `/api/console/alerts/${encodeURIComponent(alertId)}`);
  } catch (error) {
    if (!quiet) ctx.toast(error.message, "error");
    return;
  }
  if (openId !== alertId) return;
  const a = story.alert;
  const open = !["resolved", "cancelled"].includes(a.state);
  const facts = [
    ["Officer", a.officer],
    ["Raised", dayTime(a.raised_at)],
    ["Where", [a.operation, a.place].filter(Boolean).join(" / ") || `${story.lat.toFixed(5)}, ${story.lon.toFixed(5)}`],
    ["Crews", a.crews.join(", ") || "none"],
    ["To accept", seconds(a.accept_s)],
    ["To on scene", seconds(a.on_scene_s)],
    ["Taken by", story.taken_by || "-"],
    ["Track", `${story.track_points} position${story.track_points === 1 ? "" : "s"} kept`],
  ];
  clear(
    panel,
    el(
      "div",
      { class: "row" },
      el("h2", {}, "Alert ", el("code", { title: a.id }, a.id.slice(0, 8))),
      el("span", { class: `pill state-${a.state}`, id: "timeline-state" }, a.state.replace("_", " ")),
      a.urgent ? el("span", { class: "pill urgent" }, "urgent") : null,
      a.exercise ? el("span", { class: "pill exercise", id: "timeline-exercise" }, "EXERCISE") : null,
      el("span", { class: "spacer" }),
      open ? el("button", { type: "button", class: "small", onclick: () => ctx.go("board", a.id) }, "On the board") : null,
      el("button", { type: "button", class: "small", id: "timeline-close", "aria-label": "Close", onclick: closeTimeline }, "Close"),
    ),
    el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el(
      "ol",
      { class: "incident-steps", id: "timeline-entries" },
      story.timeline.map((e) =>
        el(
          "li",
          { dataset: { kind: e.kind } },
          el("time", { datetime: e.at, title: new Date(e.at).toISOString() }, clock(e.at)),
          el("div", { class: "what" }, e.text),
          e.who ? el("div", { class: "who muted" }, e.who) : null,
        ),
      ),
    ),
  );
  panel.hidden = false;
}

function closeTimeline() {
  openId = null;
  $("incident-timeline").hidden = true;
  markOpen();
  history.replaceState(null, "", "#incidents");
}
