// Planning: the new-operation form (window, deployments, rules, allowed hours and weekdays, team).
// Creating the draft hands it to the screen with `s.setPlan(op, null)`.

import { clear, el } from "./common.js";
import { field, OPS, refused } from "./planning_common.js";
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

// Shows the form in #plan-main; its Back button calls `back()`.
export function renderEditor(s, back) {
  const root = s.root;
  const d = s.defaults || {
    timezone: "Europe/London", place_gap_h: 48, rest_h: 11, per_officer_per_day: 1,
    min_duration_min: 45, max_duration_min: 120,
  };
  const tomorrow = new Date(Date.now() + 86_400_000);
  const start = `${toLocalInput(tomorrow.toISOString(), d.timezone).slice(0, 10)}T00:00`;
  const end = `${toLocalInput(new Date(Date.now() + 15 * 86_400_000).toISOString(), d.timezone).slice(0, 10)}T00:00`;
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const officers = s.people.users.filter((u) => u.role === "officer" && !u.disabled);
  const crews = s.people.crews;
  const num = (id, value, attrs = {}) => el("input", { id, type: "number", value, required: true, ...attrs });
  const setChecks = (name, fn) => {
    for (const box of root.querySelectorAll(`input[name=${name}]`)) box.checked = fn(Number(box.value));
  };
  const problem = el("p", { class: "problem", id: "op-form-problem", role: "alert" });
  const form = el(
    "form",
    { id: "op-form", class: "panel editor", onsubmit: (event) => createOperation(s, event, problem) },
    el("h1", {}, "New operation"),
    el("fieldset", {}, el("legend", {}, "Operation"),
      field("Name", el("input", { id: "op-name", required: true, maxlength: 100, size: 28 })),
      field("Area", el("input", { id: "op-area", maxlength: 200, size: 28 })),
      field("Timezone", el("input", { id: "op-tz", value: d.timezone, list: "op-zones", size: 18 })),
      el("datalist", { id: "op-zones" }, zones.map((z) => el("option", { value: z }))),
      field("Window start", el("input", { id: "op-start", type: "datetime-local", value: start, required: true }),
        "in the operation's timezone"),
      field("Window end", el("input", { id: "op-end", type: "datetime-local", value: end, required: true }),
        "at most 92 days"),
    ),
    el("fieldset", {}, el("legend", {}, "Deployments"),
      field("How many", num("op-count", 10, { min: 1, max: 2000 })),
      field("Shortest (min)", num("op-min", d.min_duration_min, { min: 5, max: 1440, step: 5 })),
      field("Longest (min)", num("op-max", d.max_duration_min, { min: 5, max: 1440, step: 5 })),
      field("Officers each", num("op-officers-per", 1, { min: 1, max: 10 })),
      field("Crews each", num("op-crews-per", 1, { min: 0, max: 10 })),
    ),
    el("fieldset", {}, el("legend", {}, "Rules"),
      field("Gap before a place again (h)", num("op-gap", d.place_gap_h, { min: 0, max: 1440, step: "any" })),
      field("Officer's rest (h)", num("op-rest", d.rest_h, { min: 0, max: 72, step: "any" })),
      field("Per officer per day", num("op-per-day", d.per_officer_per_day, { min: 1, max: 6 })),
    ),
    el("fieldset", { class: "wide" }, el("legend", {}, "Allowed hours (local start to end of each deployment)"),
      checks("hour", [...Array(24).keys()].map((h) => [h, pad(h)]), () => true),
      el("div", { class: "row" },
        el("button", { type: "button", class: "small", onclick: () => setChecks("hour", () => true) }, "All"),
        el("button", { type: "button", class: "small", onclick: () => setChecks("hour", (h) => h >= 7 && h <= 22) }, "07–22"),
        el("button", { type: "button", class: "small", onclick: () => setChecks("hour", (h) => h >= 17 || h <= 1) }, "Evenings"))),
    el("fieldset", { class: "wide" }, el("legend", {}, "Allowed weekdays"),
      checks("weekday", WEEKDAYS.map((w, i) => [i, w]), () => true)),
    el("fieldset", { class: "wide" }, el("legend", {}, `Team: officers (${officers.length})`),
      officers.length
        ? checks("officer", officers.map((u) => [u.id, personLabel(u), u.username]), () => false)
        : el("p", { class: "muted" }, "No active officers: add some on the People screen.")),
    el("fieldset", { class: "wide" }, el("legend", {}, `Team: crews (${crews.length})`),
      crews.length
        ? checks("crew", crews.map((c) => [c.id, `${c.callsign} (${c.mode}, ${c.members.length} member${c.members.length === 1 ? "" : "s"})`, c.callsign]), () => false)
        : el("p", { class: "muted" }, "No crews: add some on the People screen.")),
    problem,
    el("div", { class: "row" },
      el("button", { type: "submit", class: "primary", id: "op-create" }, "Create draft"),
      el("button", { type: "button", onclick: () => back() }, "Back"),
      el("span", { class: "muted" }, "Places are added next, on the map or from a file.")),
  );
  clear(root.querySelector("#plan-main"), form);
  form.querySelector("#op-name").focus();
}

function personLabel(user) {
  const name = user.display_name || user.username;
  return name === user.username ? name : `${name} (${user.username})`;
}

async function createOperation(s, event, problem) {
  event.preventDefault();
  problem.textContent = "";
  const $ = (id) => s.root.querySelector(`#${id}`);
  const checked = (name) => [...s.root.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value);
  const fail = (message) => refused(s, new Error(message), problem);
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
  };
  if (!body.officer_ids.length) return fail("Choose at least one officer for the team.");
  try {
    const op = await s.ctx.api("POST", OPS, body);
    s.ctx.toast(`Draft "${op.name}" created: now add its places.`, "ok");
    s.setPlan(op, null);
    history.replaceState(null, "", `#planning/${encodeURIComponent(op.id)}`);
  } catch (error) {
    refused(s, error, problem);
  }
}
