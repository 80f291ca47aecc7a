// Planning: operations, their places (map clicks, GeoJSON or CSV files), the team and rules;
// generate a plan, see it as a day-by-hour timeline, on the map and by its figures; pin, move or
// delete deployments; publish; export. Times are shown and typed in the operation's timezone.
//
// This module is the screen: mount/show, the list of operations, the open operation's layout and
// head. The rest is in planning_form.js (a new operation, or a draft's settings), planning_places.js (the map and the
// places), planning_plan.js (the plan and its deployments), planning_common.js and
// planning_zone.js (shared pieces). They share one state object, `s`, made here.

import { clear, download, el } from "./common.js";
import { crewName, OPS, personName, refused } from "./planning_common.js";
import { deriveFromReports } from "./planning_derive.js";
import { renderEditor } from "./planning_form.js";
import { dropMap, mountMap, renderMap, renderPlaces } from "./planning_places.js";
import { cancelOperation, generate, publish, renderPlan } from "./planning_plan.js";
import { pad, WEEKDAYS, windowText } from "./planning_zone.js";

const s = {
  ctx: null,
  root: null,
  ops: [], // OperationView[]
  op: null, // the open operation
  plan: null, // its PlanView, or null before a plan exists
  people: { users: [], crews: [] },
  defaults: null,
  selected: null, // deployment id
  editNote: null, // after a settings change dropped planned deployments: says to generate again
  map: null,
  layers: null,
  setPlan, // (op, plan): show the server's latest operation and plan
};

// --- loading ---------------------------------------------------------------------------------

async function loadPeople() {
  try {
    const people = await s.ctx.api("GET", "/api/console/people");
    s.people = { users: people.users || [], crews: people.crews || [] };
  } catch (error) {
    refused(s, error);
  }
}

async function loadList() {
  try {
    s.ops = await s.ctx.api("GET", OPS);
  } catch (error) {
    refused(s, error);
  }
  renderList();
}

async function open(key) {
  try {
    const op = await s.ctx.api("GET", `${OPS}/${encodeURIComponent(key)}`);
    // A draft whose settings changed may keep pinned deployments without figures.
    const plan = await s.ctx.api("GET", `${OPS}/${op.id}/plan`);
    setPlan(op, plan.deployments.length || op.figures || op.state !== "draft" ? plan : null);
    history.replaceState(null, "", `#planning/${encodeURIComponent(op.id)}`);
  } catch (error) {
    refused(s, error);
  }
}

function setPlan(op, plan) {
  const fresh = !s.op || s.op.id !== op.id;
  s.op = op;
  s.plan = plan;
  if (fresh) s.selected = null;
  if (fresh || op.figures) s.editNote = null;
  const i = s.ops.findIndex((o) => o.id === op.id);
  if (i >= 0) s.ops[i] = op;
  else s.ops.push(op);
  renderList();
  if (fresh || !s.root.querySelector("#op-view")) renderOperation();
  else refresh();
}

// --- the list of operations ------------------------------------------------------------------------

function renderList() {
  const body = s.ops.length
    ? s.ops.map((op) =>
        el(
          "tr",
          {
            class: `clickable${s.op && s.op.id === op.id ? " chosen" : ""}`,
            dataset: { opId: op.id, testid: "op-row" },
            onclick: () => open(op.id),
          },
          el("td", {}, el("strong", {}, op.name), el("div", { class: "muted small" }, windowText(op))),
          el("td", {}, el("span", { class: `pill state-${op.state}` }, op.state)),
          el("td", { class: "num" }, op.deployments),
        ),
      )
    : [el("tr", {}, el("td", { colspan: 3, class: "muted" }, "No operations yet."))];
  clear(
    s.root.querySelector("#op-list"),
    el("thead", {}, el("tr", {}, el("th", {}, "Operation and window"), el("th", {}, "State"),
      el("th", { class: "num", title: "Deployments asked for" }, "Dep."))),
    el("tbody", {}, body),
  );
}

// No operation open: forget it and its map.
function closeOperation() {
  s.op = null;
  s.plan = null;
  dropMap(s);
  renderList();
}

function renderEmpty() {
  closeOperation();
  clear(
    s.root.querySelector("#plan-main"),
    el("div", { class: "panel empty" },
      el("h1", {}, "Planning"),
      el("p", {}, "Choose an operation on the left, or start a new one."),
      el("p", { class: "muted" },
        "A plan is drawn at random from the places' risk, so deployments follow risk without a pattern " +
        "an offender could learn. Each plan shows its figures (M1–M4) against their targets.")),
  );
}

// The open draft's settings in the operation form; Back shows the operation again.
async function editSettings() {
  if (!s.people.users.length && !s.people.crews.length) await loadPeople();
  dropMap(s);
  renderEditor(s, renderOperation, s.op);
}

async function newOperation() {
  if (!s.people.users.length && !s.people.crews.length) await loadPeople();
  closeOperation();
  renderEditor(s, renderEmpty);
}

// --- one operation ------------------------------------------------------------------------------

function renderOperation() {
  const main = s.root.querySelector("#plan-main");
  dropMap(s);
  // One grid: before a plan, the map and the places side by side; with a plan, the timeline
  // beside the map, the figures and the selected deployment, and the places below.
  clear(
    main,
    el("div", { id: "op-view", class: "op-view" },
      el("div", { class: "panel", id: "op-head" }),
      el("div", { class: "panel map-panel" },
        el("div", { id: "plan-map", "data-testid": "plan-map" }),
        el("p", { class: "muted small", id: "map-hint" })),
      el("div", { class: "panel", id: "places-panel" }),
      el("div", { class: "panel muted", id: "plan-none" }),
      el("div", { class: "panel", id: "plan-figures" }),
      el("div", { class: "panel", id: "dep-panel" }),
      el("div", { class: "panel", id: "plan-timeline-panel" })),
  );
  mountMap(s, main.querySelector("#plan-map"));
  refresh(true);
}

function refresh(fit = false) {
  renderHead();
  renderPlaces(s);
  const resized = renderPlan(s);
  renderMap(s, fit || resized);
}

function renderHead() {
  const { op, plan } = s;
  const draft = op.state === "draft";
  const hasPlan = plan && plan.deployments.length > 0;
  const rules = op.rules;
  const hours = op.allowed_hours ? compactHours(op.allowed_hours) : "any hour";
  const days = op.allowed_weekdays ? op.allowed_weekdays.map((i) => WEEKDAYS[i]).join(" ") : "any day";
  const exports = el("div", { class: "row exports" },
    el("span", { class: "muted" }, "Export:"),
    el("button", { type: "button", class: "small", id: "export-ics", disabled: !hasPlan,
      onclick: () => download(`${OPS}/${op.id}/plan.ics`) }, "Plan .ics"),
    el("button", { type: "button", class: "small", id: "export-plan-csv", disabled: !hasPlan,
      onclick: () => download(`${OPS}/${op.id}/plan.csv`) }, "Plan CSV"),
    el("button", { type: "button", class: "small", id: "export-geojson",
      onclick: () => download(`${OPS}/${op.id}/places.geojson`) }, "Places GeoJSON"),
    el("button", { type: "button", class: "small", id: "export-places-csv",
      onclick: () => download(`${OPS}/${op.id}/places.csv`) }, "Places CSV"));
  clear(
    s.root.querySelector("#op-head"),
    el("div", { class: "row" },
      el("h1", { id: "op-title" }, op.name),
      el("span", { class: `pill state-${op.state}`, id: "op-state" }, op.state),
      el("span", { class: "spacer" }),
      draft && el("button", { type: "button", id: "op-edit", onclick: editSettings }, "Edit settings"),
      draft && el("button", { type: "button", id: "op-derive", disabled: !op.places.length,
        title: "Risk and hourly weights from the public's reports", onclick: () => deriveFromReports(s) }, "Derive from reports…"),
      draft && el("button", { type: "button", class: "primary", id: "plan-generate",
        disabled: !op.places.length, title: op.places.length ? "" : "Add places first",
        onclick: async () => (await generate(s)) || renderHead() }, hasPlan ? "Regenerate" : "Generate plan"),
      draft && el("button", { type: "button", class: "primary", id: "plan-publish", disabled: !hasPlan,
        onclick: () => publish(s) }, "Publish…"),
      op.state !== "cancelled" && el("button", { type: "button", class: "danger", id: "op-cancel",
        onclick: () => cancelOperation(s) }, "Cancel operation")),
    el("p", { class: "summary" },
      el("span", { id: "op-where" }, op.area || "no area given"), " · ",
      el("span", { id: "op-window" }, windowText(op)), ` (${op.timezone})`, " · ",
      el("span", { id: "op-shape" },
        `${op.deployments} deployments of ${op.min_duration_min}–${op.max_duration_min} min · ${hours}, ${days}`)),
    el("p", { class: "summary" },
      el("strong", {}, "Team: "),
      el("span", { id: "op-team" },
        op.officer_ids.map((id) => personName(s, id)).join(", "), " · ",
        op.crew_ids.length ? op.crew_ids.map((id) => crewName(s, id)).join(", ") : "no crews"), " · ",
      `${op.officers_per_deployment} officer(s) and ${op.crews_per_deployment} crew(s) each`, " · ",
      el("strong", {}, "Rules: "),
      el("span", { id: "op-rules" },
        `place gap ${rules.place_gap_h} h, rest ${rules.rest_h} h, ${rules.per_officer_per_day} per officer per day`)),
    checkinsLine(op),
    op.exercise
      ? el("p", { class: "summary", id: "op-exercise-mark" }, el("span", { class: "pill exercise" }, "EXERCISE"),
        " a drill: its alerts say so everywhere and stay out of real reports")
      : null,
    s.editNote && draft && !op.figures ? el("p", { class: "edit-note", id: "op-edit-note", role: "status" }, s.editNote) : null,
    exports,
  );
}

// Check-ins of her live deployments: shown always; changed here while published (a draft's
// form has the field too). Live deployments follow at once (PUT .../checkins).
function checkinsLine(op) {
  const every = op.checkin_interval_min ? `every ${op.checkin_interval_min} min` : "none";
  if (op.state !== "published") {
    return el("p", { class: "summary" }, el("strong", {}, "Check-ins: "), el("span", { id: "op-checkins" }, every));
  }
  const input = el("input", { id: "op-checkin-edit", type: "number", min: 5, max: 240, size: 4,
    value: op.checkin_interval_min ?? "", placeholder: "none", "aria-label": "Check-in every (min)" });
  const save = async () => {
    const minutes = input.value === "" ? null : Number(input.value);
    try {
      const saved = await s.ctx.api("PUT", `${OPS}/${op.id}/checkins`, { checkin_interval_min: minutes });
      s.ctx.toast(minutes ? `Check-ins every ${minutes} min.` : "No check-ins.", "ok");
      s.setPlan(saved, s.plan);
    } catch (error) {
      refused(s, error);
    }
  };
  return el("p", { class: "summary" }, el("strong", {}, "Check-ins: "), el("span", { id: "op-checkins" }, every), " ",
    input, " min ", el("button", { type: "button", class: "small", id: "op-checkin-save", onclick: save }, "Set"));
}

function compactHours(hours) {
  const runs = [];
  for (const h of hours) {
    const last = runs[runs.length - 1];
    if (last && last[1] === h - 1) last[1] = h;
    else runs.push([h, h]);
  }
  return `hours ${runs.map(([a, b]) => (a === b ? pad(a) : `${pad(a)}–${pad(b)}`)).join(", ")}`;
}

// --- the screen ---------------------------------------------------------------------------------

let reloading = null;

export function mount(context) {
  s.ctx = context;
  s.root = context.root;
  clear(
    s.root,
    el("div", { class: "planning" },
      el("aside", { class: "panel ops" },
        el("div", { class: "row" }, el("h2", {}, "Operations"), el("span", { class: "spacer" }),
          el("button", { type: "button", class: "primary", id: "op-new", onclick: newOperation }, "New operation")),
        el("table", { class: "grid", id: "op-list" })),
      el("div", { id: "plan-main" })),
  );
  renderEmpty();
  // A published plan changes as the scheduler briefs, starts and ends deployments.
  s.ctx.on((kind, frame) => {
    if (kind !== "deployment" || !s.op || frame.deployment.operation !== s.op.name) return;
    clearTimeout(reloading);
    reloading = setTimeout(() => open(s.op.id), 500);
  });
  s.ctx.api("GET", `${OPS}/defaults`).then((d) => (s.defaults = d), (error) => refused(s, error));
}

export async function show(arg) {
  await Promise.all([loadList(), loadPeople()]);
  if (arg) await open(arg);
  else if (s.op) await open(s.op.id);
  if (s.map) s.map.invalidateSize();
}
