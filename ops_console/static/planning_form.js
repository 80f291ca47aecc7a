// Planning: the operation form (window, deployments, rules, allowed hours and weekdays, team), in
// two modes: a new operation (POST; the draft goes to the screen with `s.setPlan(op, null)`) or
// the settings of a draft (PATCH of what changed; the screen then shows the operation and its plan
// again, and says to generate again when planned deployments were dropped).

import { clear, el } from "./common.js";
import { field, live, OPS, personName, refused } from "./planning_common.js";
import { fromLocalInput, pad, toLocalInput, WEEKDAYS } from "./planning_zone.js";

function checks(name, items, checked) {
  return el(
    "div",
    { class: "checks", dataset: { group: name } },
    items.map(([value, text, key]) =>
      el("label", { class: "check" },
        el("input", { type: "checkbox", name, value, checked: checked(value), dataset: key ? { key } : null }), text),
    ),
  );
}

// The values the form starts from: a new operation's defaults, or the draft's own settings.
function initial(s, op) {
  const d = s.defaults || {
    timezone: "Europe/London", place_gap_h: 48, rest_h: 11, per_officer_per_day: 1,
    min_duration_min: 45, max_duration_min: 120,
  };
  if (op) {
    return {
      name: op.name, area: op.area, timezone: op.timezone,
      start: toLocalInput(op.window_start, op.timezone), end: toLocalInput(op.window_end, op.timezone),
      count: op.deployments, min: op.min_duration_min, max: op.max_duration_min,
      officersPer: op.officers_per_deployment, crewsPer: op.crews_per_deployment, ...op.rules,
      hours: op.allowed_hours, weekdays: op.allowed_weekdays, officers: op.officer_ids, crews: op.crew_ids,
      checkin: op.checkin_interval_min ?? "",
      exercise: Boolean(op.exercise),
    };
  }
  const day = (ms) => `${toLocalInput(new Date(Date.now() + ms).toISOString(), d.timezone).slice(0, 10)}T00:00`;
  return {
    name: "", area: "", timezone: d.timezone, start: day(86_400_000), end: day(15 * 86_400_000),
    count: 10, min: d.min_duration_min, max: d.max_duration_min, officersPer: 1, crewsPer: 1,
    place_gap_h: d.place_gap_h, rest_h: d.rest_h, per_officer_per_day: d.per_officer_per_day,
    hours: null, weekdays: null, officers: [], crews: [], checkin: "", exercise: false,
  };
}

// Shows the form in #plan-main; its Back button calls `back()`. With `op` (a draft), the form
// edits its settings instead of creating an operation.
export function renderEditor(s, back, op = null) {
  const root = s.root;
  const v = initial(s, op);
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const officers = s.people.users.filter((u) => u.role === "officer" && !u.disabled);
  const crews = s.people.crews;
  const gone = op ? op.officer_ids.filter((id) => !officers.some((u) => u.id === id)) : [];
  const num = (id, value, attrs = {}) => el("input", { id, type: "number", value, required: true, ...attrs });
  const setChecks = (name, fn) => {
    for (const box of root.querySelectorAll(`input[name=${name}]`)) box.checked = fn(Number(box.value));
  };
  const problem = el("p", { class: "problem", id: "op-form-problem", role: "alert" });
  const submit = op ? (event) => saveSettings(s, op, event, problem) : (event) => createOperation(s, event, problem);
  const allowed = (list) => (value) => !list || list.includes(value);
  const form = el(
    "form",
    { id: "op-form", class: "panel editor", dataset: { mode: op ? "edit" : "new" }, onsubmit: submit },
    el("h1", { id: "op-form-title" }, op ? `Settings of "${op.name}"` : "New operation"),
    el("fieldset", {}, el("legend", {}, "Operation"),
      field("Name", el("input", { id: "op-name", required: true, maxlength: 100, size: 28, value: v.name })),
      field("Area", el("input", { id: "op-area", maxlength: 200, size: 28, value: v.area })),
      field("Timezone", el("input", { id: "op-tz", value: v.timezone, list: "op-zones", size: 18 })),
      el("datalist", { id: "op-zones" }, zones.map((z) => el("option", { value: z }))),
      field("Window start", el("input", { id: "op-start", type: "datetime-local", value: v.start, required: true }),
        "in the operation's timezone"),
      field("Window end", el("input", { id: "op-end", type: "datetime-local", value: v.end, required: true }),
        "at most 92 days"),
      field("Exercise", el("input", { id: "op-exercise", type: "checkbox", checked: v.exercise }),
        "a drill: its alerts say EXERCISE everywhere and stay out of real reports"),
    ),
    el("fieldset", {}, el("legend", {}, "Deployments"),
      field("How many", num("op-count", v.count, { min: 1, max: 2000 })),
      field("Shortest (min)", num("op-min", v.min, { min: 5, max: 1440, step: 5 })),
      field("Longest (min)", num("op-max", v.max, { min: 5, max: 1440, step: 5 })),
      field("Officers each", num("op-officers-per", v.officersPer, { min: 1, max: 10 })),
      field("Crews each", num("op-crews-per", v.crewsPer, { min: 0, max: 10 })),
    ),
    el("fieldset", {}, el("legend", {}, "Rules"),
      field("Gap before a place again (h)", num("op-gap", v.place_gap_h, { min: 0, max: 1440, step: "any" })),
      field("Officer's rest (h)", num("op-rest", v.rest_h, { min: 0, max: 72, step: "any" })),
      field("Per officer per day", num("op-per-day", v.per_officer_per_day, { min: 1, max: 6 })),
      field("Check-in every (min)", el("input", { id: "op-checkin", type: "number", min: 5, max: 240, value: v.checkin }),
        "her live deployments ask her to check in; empty: none"),
    ),
    el("fieldset", { class: "wide" }, el("legend", {}, "Allowed hours (local start to end of each deployment)"),
      checks("hour", [...Array(24).keys()].map((h) => [h, pad(h)]), allowed(v.hours)),
      el("div", { class: "row" },
        el("button", { type: "button", class: "small", onclick: () => setChecks("hour", () => true) }, "All"),
        el("button", { type: "button", class: "small", onclick: () => setChecks("hour", (h) => h >= 7 && h <= 22) }, "07–22"),
        el("button", { type: "button", class: "small", onclick: () => setChecks("hour", (h) => h >= 17 || h <= 1) }, "Evenings"))),
    el("fieldset", { class: "wide" }, el("legend", {}, "Allowed weekdays"),
      checks("weekday", WEEKDAYS.map((w, i) => [i, w]), allowed(v.weekdays))),
    el("fieldset", { class: "wide" }, el("legend", {}, `Team: officers (${officers.length})`),
      officers.length
        ? checks("officer", officers.map((u) => [u.id, personLabel(u), u.username]), (id) => v.officers.includes(id))
        : el("p", { class: "muted" }, "No active officers: add some on the People screen."),
      gone.length
        ? el("p", { class: "problem", id: "op-form-gone" },
          `No longer active, so left out of the team when you save: ${gone.map((id) => personName(s, id)).join(", ")}.`)
        : null),
    el("fieldset", { class: "wide" }, el("legend", {}, `Team: crews (${crews.length})`),
      crews.length
        ? checks("crew", crews.map((c) => [c.id, `${c.callsign} (${c.mode}, ${c.members.length} member${c.members.length === 1 ? "" : "s"})`, c.callsign]), (id) => v.crews.includes(id))
        : el("p", { class: "muted" }, "No crews: add some on the People screen.")),
    problem,
    op
      ? el("div", { class: "row" },
        el("button", { type: "submit", class: "primary", id: "op-save" }, "Save settings"),
        el("button", { type: "button", id: "op-form-back", onclick: () => back() }, "Back"),
        el("span", { class: "muted", id: "op-form-note" }, planNote(op, s.plan)))
      : el("div", { class: "row" },
        el("button", { type: "submit", class: "primary", id: "op-create" }, "Create draft"),
        el("button", { type: "button", onclick: () => back() }, "Back"),
        el("span", { class: "muted" }, "Places are added next, on the map or from a file.")),
  );
  clear(root.querySelector("#plan-main"), form);
  form.querySelector("#op-name").focus();
}

// What saving does to the draft's plan (the server drops the unpinned planned deployments when
// anything but the name or area changes).
function planNote(op, plan) {
  const planned = live(plan);
  if (!planned.length) return "Places stay as they are.";
  const pinned = planned.filter((d) => d.pinned).length;
  return "Changing anything but the name or area drops the unpinned planned deployments: generate again " +
    `after saving.${pinned ? ` Pinned ones stay if they keep the new rules (${pinned} pinned).` : ""}`;
}

function personLabel(user) {
  const name = user.display_name || user.username;
  return name === user.username ? name : `${name} (${user.username})`;
}

// The form's values as an OperationIn body (no places), or null after showing what is wrong.
function readForm(s, problem) {
  const $ = (id) => s.root.querySelector(`#${id}`);
  const checked = (name) => [...s.root.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value);
  const fail = (message) => {
    refused(s, new Error(message), problem);
    return null;
  };
  const timezone = $("op-tz").value.trim() || "Europe/London";
  const hours = checked("hour").map(Number);
  const weekdays = checked("weekday").map(Number);
  if (!hours.length) return fail("Allow at least one hour.");
  if (!weekdays.length) return fail("Allow at least one weekday.");
  let windowStart;
  let windowEnd;
  try {
    windowStart = fromLocalInput($("op-start").value, timezone);
    windowEnd = fromLocalInput($("op-end").value, timezone);
  } catch {
    return fail(`Unknown timezone ${timezone}: use an IANA name such as Europe/London.`);
  }
  const body = {
    name: $("op-name").value.trim(),
    area: $("op-area").value.trim(),
    timezone,
    window_start: windowStart,
    window_end: windowEnd,
    deployments: Number($("op-count").value),
    min_duration_min: Number($("op-min").value),
    max_duration_min: Number($("op-max").value),
    allowed_hours: hours.length === 24 ? null : hours,
    allowed_weekdays: weekdays.length === 7 ? null : weekdays,
    officer_ids: checked("officer"),
    crew_ids: checked("crew"),
    officers_per_deployment: Number($("op-officers-per").value),
    crews_per_deployment: Number($("op-crews-per").value),
    rules: {
      place_gap_h: Number($("op-gap").value),
      rest_h: Number($("op-rest").value),
      per_officer_per_day: Number($("op-per-day").value),
    },
    checkin_interval_min: $("op-checkin").value === "" ? null : Number($("op-checkin").value),
    exercise: $("op-exercise").checked,
  };
  if (!body.officer_ids.length) return fail("Choose at least one officer for the team.");
  return body;
}

async function createOperation(s, event, problem) {
  event.preventDefault();
  problem.textContent = "";
  const body = readForm(s, problem);
  if (!body) return;
  try {
    const op = await s.ctx.api("POST", OPS, body);
    s.ctx.toast(`Draft "${op.name}" created: now add its places.`, "ok");
    s.setPlan(op, null);
    history.replaceState(null, "", `#planning/${encodeURIComponent(op.id)}`);
  } catch (error) {
    refused(s, error, problem);
  }
}

// Only what differs from the draft's settings: an unchanged window typed in an unchanged zone
// keeps its exact instants, and the team compares as a set.
function changes(op, body) {
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const sorted = (list) => (list ? [...list].sort() : list);
  const out = {};
  for (const key of ["name", "area", "timezone", "deployments", "min_duration_min", "max_duration_min",
    "officers_per_deployment", "crews_per_deployment", "checkin_interval_min", "exercise"]) {
    if (body[key] !== op[key]) out[key] = body[key];
  }
  for (const key of ["window_start", "window_end"]) {
    if (new Date(body[key]).getTime() !== new Date(op[key]).getTime()) out[key] = body[key];
  }
  for (const key of ["allowed_hours", "allowed_weekdays"]) {
    if (!same(sorted(body[key]), sorted(op[key]))) out[key] = body[key];
  }
  for (const key of ["officer_ids", "crew_ids"]) {
    if (!same(sorted(body[key]), sorted(op[key]))) out[key] = body[key];
  }
  const rules = Object.fromEntries(Object.entries(body.rules).filter(([key, value]) => value !== op.rules[key]));
  if (Object.keys(rules).length) out.rules = rules;
  return out;
}

async function saveSettings(s, op, event, problem) {
  event.preventDefault();
  problem.textContent = "";
  const body = readForm(s, problem);
  if (!body) return;
  const $ = (id) => s.root.querySelector(`#${id}`);
  // The window as shown, in an unchanged zone, is the stored window (which may carry seconds).
  if (body.timezone === op.timezone) {
    if ($("op-start").value === toLocalInput(op.window_start, op.timezone)) body.window_start = op.window_start;
    if ($("op-end").value === toLocalInput(op.window_end, op.timezone)) body.window_end = op.window_end;
  }
  const change = changes(op, body);
  if (!Object.keys(change).length) {
    problem.textContent = "Nothing changed: change a setting, or go back.";
    return;
  }
  const before = live(s.plan).filter((d) => !d.pinned).map((d) => d.id);
  const button = $("op-save");
  button.disabled = true;
  let saved;
  try {
    saved = await s.ctx.api("PATCH", `${OPS}/${op.id}`, change);
  } catch (error) {
    refused(s, error, problem);
    button.disabled = false;
    return;
  }
  let plan = null;
  try {
    plan = await s.ctx.api("GET", `${OPS}/${op.id}/plan`);
  } catch (error) {
    refused(s, error);
  }
  const kept = new Set(plan ? plan.deployments.map((d) => d.id) : []);
  const dropped = before.filter((id) => !kept.has(id)).length;
  s.editNote = dropped
    ? `Settings saved: ${dropped === 1 ? "the planned deployment no longer matched and was"
      : `the ${dropped} planned deployments no longer matched and were`} dropped. Generate the plan again.`
    : null;
  s.ctx.toast(`Settings of "${saved.name}" saved.`, "ok");
  s.setPlan(saved, plan && (plan.deployments.length || saved.figures) ? plan : null);
}
