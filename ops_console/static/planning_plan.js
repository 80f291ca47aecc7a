// Planning: the plan of an operation: generating and publishing it (or cancelling the
// operation), its figures (M1-M5), each member's share and warnings, a day-by-hour timeline of its deployments, and the
// selected deployment's panel (pin, move, delete). Every change hands the server's new plan to the
// screen with `s.setPlan(op, plan)`.

import { clear, el } from "./common.js";
import {
  confirmBox, crewName, dialog, field, live, named, OPS, personName, placeColour, refused,
} from "./planning_common.js";
import { clock, dayKey, fromLocalInput, pad, parts, toLocalInput, when } from "./planning_zone.js";

// How each figure is judged. M2 and M3 are the planner's own targets (dispatch/planning/planner.py);
// M1 and M4 have no hard target ("near 1"), so the console judges them by a band of its own.
const FIGURES = [
  {
    key: "m1_ratio", name: "M1 coverage follows risk", target: "≤ 1.25",
    pass: (v) => v <= 1.25,
    extra: (f) => `offender's best ÷ optimum (1 = optimal); coverage error ${f.m1_coverage_error.toFixed(2)}`,
  },
  {
    key: "m2_entropy_ratio", name: "M2 spread of places and hours", target: "≥ 0.95", pass: (v) => v >= 0.95,
    extra: () => "entropy ÷ the most the rules allow",
  },
  {
    key: "m3_predictability", name: "M3 predictability", target: "≤ 1.10", pass: (v) => v <= 1.1,
    extra: (f) => `best predictor (${f.m3_best_predictor.replaceAll("_", " ")}) ÷ chance`,
  },
  {
    key: "m4_gap_regularity", name: "M4 randomness of revisits", target: "0.5 – 1.5",
    pass: (v) => v >= 0.5 && v <= 1.5,
    extra: () => "gap variation ÷ random (a rota scores 0)",
  },
  {
    // dispatch/planning/recency.py: an offender who goes to the places used within the last place
    // gap, picked by risk; chance = the same places at their average coverage for that hour.
    key: "m5_recent_place", name: "M5 safety where the team just was", target: "≥ 0.75",
    pass: (v) => v >= 0.75,
    extra: (f) => {
      const d = f.details || {};
      const rates = "m5_safe" in d
        ? `; safe ${(100 * d.m5_safe).toFixed(1)}% vs ${(100 * d.m5_chance_safe).toFixed(1)}% by chance`
        : "";
      return "how often an offender at a place used within the last place gap is met ÷ chance " +
        `(0 = certainly safe there; a gap range helps)${rates}`;
    },
  },
];

// Deployments per officer and crew, busiest first: fair is within one of each other.
function sharesList(s, figures) {
  const rows = [["Officers", figures.officer_shares || {}, personName], ["Crews", figures.crew_shares || {}, crewName]];
  return el("div", { id: "plan-shares", class: "small" },
    rows.filter(([, shares]) => Object.keys(shares).length).map(([label, shares, name]) => {
      const counts = Object.values(shares);
      const fair = Math.max(...counts) - Math.min(...counts) <= 1;
      const each = Object.entries(shares).sort((a, b) => b[1] - a[1])
        .map(([id, n]) => `${name(s, id)} ${n}`).join(", ");
      return el("div", { dataset: { shares: label.toLowerCase() } },
        el("strong", {}, `${label}: `), each, " ",
        el("span", { class: `pill ${fair ? "pass" : "miss"}` }, fair ? "fair" : "uneven"));
    }));
}

// Resolves false when the server refuses: the caller redraws the head to restore the button.
export async function generate(s) {
  const button = s.root.querySelector("#plan-generate");
  button.disabled = true;
  button.textContent = "Generating…";
  try {
    const plan = await s.ctx.api("POST", `${OPS}/${s.op.id}/generate`);
    s.setPlan(plan.operation, plan);
    s.ctx.toast(`Plan drawn: ${plan.deployments.length} deployments.`, "ok");
    return true;
  } catch (error) {
    refused(s, error);
    return false;
  }
}

export async function publish(s) {
  const n = live(s.plan).length;
  const ok = await confirmBox(
    "Publish the plan",
    `Publish ${n} deployments of "${s.op.name}"? Each team is briefed before its deployment; ` +
      "the plan can no longer be regenerated, only changed deployment by deployment.",
    "Publish",
  );
  if (!ok) return;
  try {
    const plan = await s.ctx.api("POST", `${OPS}/${s.op.id}/publish`);
    s.setPlan(plan.operation, plan);
    s.ctx.toast(`"${plan.operation.name}" is published.`, "ok");
  } catch (error) {
    refused(s, error);
  }
}

export async function cancelOperation(s) {
  const ok = await confirmBox(
    "Cancel the operation",
    `Cancel "${s.op.name}"? Deployments not over are cancelled and their teams told; live ones stand down.`,
    "Cancel operation",
  );
  if (!ok) return;
  try {
    const plan = await s.ctx.api("POST", `${OPS}/${s.op.id}/cancel`);
    s.setPlan(plan.operation, plan);
    s.ctx.toast(`"${plan.operation.name}" is cancelled.`, "ok");
  } catch (error) {
    refused(s, error);
  }
}

export function renderPlan(s) {
  const { op, plan } = s;
  const view = s.root.querySelector("#op-view");
  const resized = view.classList.contains("with-plan") !== Boolean(plan);
  view.classList.toggle("with-plan", Boolean(plan));
  if (resized) s.map?.invalidateSize();
  for (const id of ["plan-figures", "dep-panel", "plan-timeline-panel"]) s.root.querySelector(`#${id}`).hidden = !plan;
  s.root.querySelector("#plan-none").hidden = Boolean(plan);
  if (!plan) {
    s.root.querySelector("#plan-none").textContent = op.places.length
      ? "No plan yet: generate one."
      : "No plan yet: add places, then generate a plan.";
    return resized;
  }
  clear(s.root.querySelector("#plan-figures"), figuresTable(s, op.figures));
  clear(s.root.querySelector("#dep-panel"), deploymentPanel(s));
  clear(
    s.root.querySelector("#plan-timeline-panel"),
    el("div", { class: "row" },
      el("h2", {}, `Timeline: ${live(plan).length} deployments`),
      el("span", { class: "muted small" }, `local time, ${op.timezone}; click one to pin, move or delete it`)),
    timeline(s),
  );
  spillLabels(s.root.querySelector("#plan-timeline"));
  return resized;
}

// A label longer than its block is written beside it (after it, or before it near the day's
// end) rather than cut off.
function spillLabels(node) {
  for (const block of node.querySelectorAll(".tl-block")) {
    const label = block.querySelector(".tl-label");
    block.classList.remove("spill", "spill-left");
    const box = block.getBoundingClientRect();
    const text = label.getBoundingClientRect();
    if (text.right <= box.right - 2) continue;
    const room = block.parentElement.getBoundingClientRect().right - box.right;
    block.classList.add("spill");
    if (room < text.width + 8) block.classList.add("spill-left");
  }
}

function figuresTable(s, figures) {
  const warnings = s.op.warnings || [];
  if (!figures) return el("p", { class: "muted" }, "No figures yet.");
  return [
    el("h2", {}, "Figures"),
    el("table", { class: "grid figures" },
      el("thead", {}, el("tr", {}, el("th", {}, "Figure"), el("th", { class: "num" }, "Value"),
        el("th", {}, "Target"), el("th", {}))),
      el("tbody", {}, FIGURES.map((f) => {
        const value = figures[f.key];
        const pass = f.pass(value);
        return el("tr", { dataset: { figure: f.key } },
          el("td", {}, el("strong", {}, f.name), el("div", { class: "muted small" }, f.extra(figures))),
          el("td", { class: "num" }, value.toFixed(2)),
          el("td", { class: "muted" }, f.target),
          el("td", {}, el("span", { class: `pill ${pass ? "pass" : "miss"}` }, pass ? "pass" : "miss")));
      }))),
    sharesList(s, figures),
    el("ul", { id: "plan-warnings", class: "warnings" },
      warnings.length ? warnings.map((w) => el("li", {}, w)) : el("li", { class: "muted ok" }, "No warnings.")),
  ];
}

function timeline(s) {
  const { op, plan } = s;
  const tz = op.timezone;
  const first = parts(new Date(op.window_start), tz);
  const last = parts(new Date(new Date(op.window_end).getTime() - 60_000), tz);
  const days = [];
  for (let i = 0; i < 100; i += 1) {
    const date = new Date(Date.UTC(first.y, first.m - 1, first.d + i));
    const p = { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() };
    days.push({ key: dayKey(p), weekday: (date.getUTCDay() + 6) % 7, date });
    if (dayKey(p) === dayKey(last)) break;
  }
  const segments = new Map(days.map((d) => [d.key, []]));
  for (const dep of plan.deployments) {
    const b = parts(new Date(dep.starts_at), tz);
    const e = parts(new Date(dep.ends_at), tz);
    const from = b.h * 60 + b.min;
    const to = e.h * 60 + e.min;
    if (dayKey(b) === dayKey(e)) segments.get(dayKey(b))?.push([dep, from, to]);
    else {
      segments.get(dayKey(b))?.push([dep, from, 1440]);
      if (to > 0) segments.get(dayKey(e))?.push([dep, 0, to]);
    }
  }
  const hours = op.allowed_hours ? new Set(op.allowed_hours) : null;
  const weekdays = op.allowed_weekdays ? new Set(op.allowed_weekdays) : null;
  const header = el("div", { class: "tl-row tl-head" }, el("div", { class: "tl-day" }),
    el("div", { class: "tl-track" }, [...Array(24).keys()].map((h) => el("div", { class: "tl-hour" }, pad(h)))));
  const rows = days.map((day) => {
    const off = weekdays && !weekdays.has(day.weekday);
    return el("div", { class: `tl-row${off ? " off" : ""}`, dataset: { day: day.key } },
      el("div", { class: "tl-day" }, day.date.toLocaleDateString("en-GB", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short" })),
      el("div", { class: "tl-track" },
        [...Array(24).keys()].map((h) => el("div", { class: `tl-cell${off || (hours && !hours.has(h)) ? " off" : ""}` })),
        segments.get(day.key).map(([dep, from, to]) => block(s, dep, from, to))));
  });
  return el("div", { class: "timeline", id: "plan-timeline", "data-testid": "plan-timeline" }, header, rows);
}

function block(s, dep, from, to) {
  const tz = s.op.timezone;
  const title = `${dep.place_name}: ${when(dep.starts_at, tz)} – ${clock(dep.ends_at, tz)} (${dep.state}${dep.pinned ? ", pinned" : ""})`;
  return el(
    "button",
    {
      type: "button",
      class: `tl-block state-${dep.state}${dep.pinned ? " pinned" : ""}${s.selected === dep.id ? " selected" : ""}`,
      style: `left:${(from / 1440) * 100}%;width:${Math.max(((to - from) / 1440) * 100, 0.4)}%;background:${placeColour(s, dep.place_id)}`,
      title,
      "aria-label": title,
      dataset: { deploymentId: dep.id, testid: "deployment", pinned: String(dep.pinned) },
      onclick: () => select(s, dep.id),
    },
    dep.pinned ? el("span", { class: "pin" }, "PIN") : null,
    el("span", { class: "tl-label" }, `${clock(dep.starts_at, tz)} ${dep.place_name}`),
  );
}

function select(s, id) {
  s.selected = s.selected === id ? null : id;
  for (const node of s.root.querySelectorAll(".tl-block")) {
    node.classList.toggle("selected", node.dataset.deploymentId === s.selected);
  }
  clear(s.root.querySelector("#dep-panel"), deploymentPanel(s));
}

function deploymentPanel(s) {
  const dep = s.plan.deployments.find((d) => d.id === s.selected);
  if (!dep) {
    return [el("h2", {}, "Deployment"), el("p", { class: "muted", id: "dep-none" }, "Select a deployment on the timeline.")];
  }
  const tz = s.op.timezone;
  const history = ["ended", "missed", "cancelled"].includes(dep.state);
  const movable = ["planned", "published", "briefed"].includes(dep.state);
  const draft = s.op.state === "draft";
  return [
    el("h2", {}, "Deployment"),
    el("dl", { class: "facts", id: "dep-facts" },
      el("dt", {}, "Place"), el("dd", {}, el("span", { class: "swatch", style: `background:${placeColour(s, dep.place_id)}` }), " ", dep.place_name),
      el("dt", {}, "When"), el("dd", { id: "dep-when" }, `${when(dep.starts_at, tz)} – ${clock(dep.ends_at, tz)}`),
      el("dt", {}, "State"), el("dd", {}, el("span", { class: `pill state-${dep.state}`, id: "dep-state" }, dep.state),
        dep.pinned ? el("span", { class: "pill pinned-pill", id: "dep-pinned" }, "pinned") : null),
      el("dt", {}, "Officers"), el("dd", {}, dep.officer_ids.map((id) => personName(s, id)).join(", ") || "-"),
      el("dt", {}, "Crews"), el("dd", {}, dep.crew_ids.map((id) => crewName(s, id)).join(", ") || "-"),
      dep.note ? [el("dt", {}, "Note"), el("dd", {}, dep.note)] : null),
    history ? el("p", { class: "muted" }, `This deployment is ${dep.state}: it is history.`) :
      el("div", { class: "row" },
        el("button", { type: "button", id: "dep-pin", onclick: () => change(s, dep, { pinned: !dep.pinned }) },
          dep.pinned ? "Unpin" : "Pin"),
        movable && el("button", { type: "button", id: "dep-move", onclick: () => moveDialog(s, dep) }, "Move…"),
        el("button", { type: "button", class: "danger", id: "dep-delete", onclick: () => deleteDeployment(s, dep) },
          draft ? "Delete" : "Cancel deployment")),
    draft && !history ? el("p", { class: "muted small" }, "A pinned deployment stays as it is when the plan is regenerated.") : null,
  ];
}

function showChange(s, result, problem) {
  s.setPlan(result.plan.operation, result.plan);
  if (result.warnings.length) {
    s.ctx.toast(`The change made the plan more predictable: ${named(s, result.warnings.join(" "))}`, "error");
  }
  if (problem) problem.textContent = "";
}

async function change(s, dep, body, problem) {
  try {
    const result = await s.ctx.api("PATCH", `${OPS}/${s.op.id}/deployments/${dep.id}`, body);
    showChange(s, result);
    if (body.pinned !== undefined) s.ctx.toast(body.pinned ? "Deployment pinned." : "Deployment unpinned.", "ok");
    return true;
  } catch (error) {
    refused(s, error, problem);
    return false;
  }
}

function moveDialog(s, dep) {
  const tz = s.op.timezone;
  const body = el("div", { class: "form-grid" },
    el("p", { class: "muted" }, `${dep.place_name}, ${when(dep.starts_at, tz)} – ${clock(dep.ends_at, tz)}. The length is kept.`),
    field("New start", el("input", { id: "move-start", type: "datetime-local", value: toLocalInput(dep.starts_at, tz), required: true }),
      `in ${tz}`),
    field("Place", el("select", { id: "move-place" },
      s.op.places.map((p) => el("option", { value: p.id, selected: p.id === dep.place_id }, p.name)))),
  );
  dialog("move-dialog", "Move the deployment", body, "Move", async (problem) => {
    const change_ = {};
    const start = fromLocalInput(document.getElementById("move-start").value, tz);
    if (new Date(start).getTime() !== new Date(dep.starts_at).getTime()) change_.starts_at = start;
    const place = document.getElementById("move-place").value;
    if (place !== dep.place_id) change_.place_id = place;
    if (!Object.keys(change_).length) {
      problem.textContent = "Nothing to move: choose a new start or place.";
      return false;
    }
    const ok = await change(s, dep, change_, problem);
    if (ok) s.ctx.toast("Deployment moved.", "ok");
    return ok;
  });
}

async function deleteDeployment(s, dep) {
  const draft = s.op.state === "draft";
  const ok = await confirmBox(
    draft ? "Delete the deployment" : "Cancel the deployment",
    `${draft ? "Delete" : "Cancel"} ${dep.place_name}, ${when(dep.starts_at, s.op.timezone)}?` +
      (draft ? "" : " Its team is told if it was briefed."),
    draft ? "Delete" : "Cancel deployment",
  );
  if (!ok) return;
  try {
    const result = await s.ctx.api("DELETE", `${OPS}/${s.op.id}/deployments/${dep.id}`);
    s.selected = null;
    showChange(s, result);
  } catch (error) {
    refused(s, error);
  }
}
