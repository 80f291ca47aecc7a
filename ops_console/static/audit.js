// Audit: the audit trail, for an auditor (the only screen she has: no board, no socket).
// Search by person (who acted), object (type and id), action and time; the rows newest
// first, a page at a time; export the search as CSV (the server writes the export itself
// to the trail, so the table is read again after it). A person or an object in a row is a
// link that searches for it. Times are the browser's local time; the API takes UTC.

import { clear, el } from "./common.js";

const PAGE = 50;
const ACTIONS = [
  ["collection", "collection"],
  ["alteration", "alteration"],
  ["consultation", "consultation"],
  ["disclosure", "disclosure"],
  ["combination", "combination"],
  ["erasure", "erasure"],
  ["sign_in", "sign in"],
  ["sign_out", "sign out"],
];
// What rows are about (free text is taken too: a type this list does not know yet).
const OBJECT_TYPES = [
  "alert", "alert_personal", "alert_track", "audit_trail", "crew", "crew_position", "deployment",
  "events", "operation", "people", "plan", "report", "session", "user",
];

let ctx;
let search = new URLSearchParams(); // the search the rows shown answer
let pages = [null]; // `before` of each page seen, newest first; null: the newest rows
let at = 0; // the page shown
let next = null; // `before` of the page after it (older), or null: no more
let asked = 0; // the newest request: older answers are dropped
const $ = (id) => document.getElementById(id);

export function mount(c) {
  ctx = c;
  clear(
    ctx.root,
    el(
      "div",
      { class: "audit" },
      el(
        "form",
        { id: "audit-search", class: "toolbar", autocomplete: "off", onsubmit: (e) => { e.preventDefault(); find(); } },
        el("label", {}, "Person", el("input", { id: "audit-person", type: "search", maxlength: 100, placeholder: "username, name or id" })),
        el(
          "label",
          {},
          "Object type",
          el("input", { id: "audit-object-type", list: "audit-object-types", maxlength: 32, placeholder: "any" }),
        ),
        el("datalist", { id: "audit-object-types" }, OBJECT_TYPES.map((t) => el("option", { value: t }))),
        el("label", {}, "Object id", el("input", { id: "audit-object-id", maxlength: 200, placeholder: "any" })),
        el(
          "label",
          {},
          "Action",
          el("select", { id: "audit-action" }, el("option", { value: "" }, "any"), ACTIONS.map(([v, t]) => el("option", { value: v }, t))),
        ),
        el("label", {}, "From", el("input", { id: "audit-since", type: "datetime-local", step: 1 })),
        el("label", {}, "To", el("input", { id: "audit-until", type: "datetime-local", step: 1 })),
        el("button", { type: "submit", class: "primary", id: "audit-go" }, "Search"),
        el("button", { type: "button", id: "audit-clear", onclick: clearSearch }, "Clear"),
      ),
      el("p", { id: "audit-problem", class: "problem", role: "alert" }),
      el(
        "div",
        { class: "row audit-paging" },
        el("span", { id: "audit-count", class: "muted", role: "status" }),
        el("span", { class: "spacer" }),
        el("button", { type: "button", id: "audit-csv", title: "Every row of the search (the export is itself kept in the trail)", onclick: exportCsv }, "Export CSV"),
        el("button", { type: "button", id: "audit-newer", disabled: true, onclick: () => turn(-1) }, "Newer"),
        el("button", { type: "button", id: "audit-older", disabled: true, onclick: () => turn(1) }, "Older"),
      ),
      el(
        "table",
        { class: "grid audit-rows", id: "audit-rows", "data-testid": "audit-rows" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["#", "Time", "Person", "Action", "Object", "Reason", "Detail"].map((h, i) =>
              el("th", { class: i === 0 ? "num" : undefined }, h),
            ),
          ),
        ),
        el("tbody", { id: "audit-body" }),
      ),
    ),
  );
}

export function show() {
  find();
}

// --- the search -----------------------------------------------------------------------------

// The form as the API's query; or a sentence saying what is wrong with it.
function fromForm() {
  const params = new URLSearchParams();
  for (const [name, id] of [["person", "audit-person"], ["object_type", "audit-object-type"], ["object_id", "audit-object-id"], ["action", "audit-action"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  const since = instant($("audit-since").value);
  const until = instant($("audit-until").value);
  if (since === undefined || until === undefined) return { problem: "A time is not complete: give the day and the time." };
  if (since && until && until <= since) return { problem: "'To' must be after 'From'." };
  if (since) params.set("since", since);
  if (until) params.set("until", until);
  return { params };
}

// A datetime-local value (the browser's local time) as a UTC instant; null for none,
// undefined for a value the browser could not read.
function instant(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function find() {
  const { params, problem } = fromForm();
  if (problem) {
    $("audit-problem").textContent = problem;
    return;
  }
  search = params;
  pages = [null];
  load(0);
}

function clearSearch() {
  $("audit-search").reset();
  find();
}

// Search for what a row's link names (a person, or an object), from the newest row on.
function searchFor(fields) {
  $("audit-search").reset();
  for (const [id, value] of Object.entries(fields)) $(id).value = value;
  find();
}

function turn(step) {
  if (step > 0 && next === null) return;
  if (step > 0 && at + 1 >= pages.length) pages.push(next);
  load(Math.max(0, at + step));
}

async function load(page) {
  const mine = ++asked;
  const params = new URLSearchParams(search);
  params.set("limit", String(PAGE));
  if (pages[page] !== null) params.set("before", String(pages[page]));
  let answer;
  try {
    answer = await ctx.api("GET", `/api/console/audit?${params}`);
  } catch (error) {
    if (mine === asked) $("audit-problem").textContent = error.message;
    return;
  }
  if (mine !== asked) return;
  $("audit-problem").textContent = "";
  at = page;
  next = answer.next_before;
  if (next === null) pages.length = at + 1; // nothing older: forget pages past this one
  clear($("audit-body"), answer.rows.length ? answer.rows.map(row) : el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No row matches.")));
  const first = at * PAGE + 1;
  $("audit-count").textContent = answer.rows.length
    ? `Rows ${first}-${first + answer.rows.length - 1}${next === null ? "" : " (older on the next page)"}, newest first`
    : "";
  $("audit-newer").disabled = at === 0;
  $("audit-older").disabled = next === null;
  $("audit-rows").dataset.search = search.toString(); // what the rows shown answer
  $("audit-rows").dataset.page = String(at);
}

// --- rows -------------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");

// "Tue 24 Nov 2026 20:00:05" in the browser's time zone.
function when(iso) {
  const d = new Date(iso);
  const day = d.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  return `${day.replaceAll(",", "")} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function link(text, title, onclick) {
  return el("a", { href: "#audit", class: "audit-link", title, onclick: (e) => { e.preventDefault(); onclick(); } }, text);
}

function row(r) {
  const person = r.username || r.actor;
  return el(
    "tr",
    { dataset: { seq: String(r.seq), action: r.action, actor: person, objectType: r.object_type, objectId: r.object_id } },
    el("td", { class: "num", title: `hash ${r.hash}` }, String(r.seq)),
    el("td", { class: "audit-when", title: r.at }, when(r.at)),
    el(
      "td",
      { class: "audit-person" },
      link(person, `Every row by ${person}`, () => searchFor({ "audit-person": person })),
      el("div", { class: "muted" }, r.role),
    ),
    el("td", {}, el("span", { class: `pill action-${r.action}` }, r.action.replace("_", " "))),
    el(
      "td",
      { class: "audit-object" },
      el("span", { class: "muted" }, r.object_type, " "),
      link(r.object_id, `Every row about this ${r.object_type}`, () =>
        searchFor({ "audit-object-type": r.object_type, "audit-object-id": r.object_id }),
      ),
    ),
    el("td", { class: "audit-text" }, r.reason || ""),
    el("td", { class: "audit-text" }, r.detail || ""),
  );
}

// --- export -----------------------------------------------------------------------------------

// The search as CSV (every row of it, not one page). Fetched rather than followed, so that
// a refusal is shown here and the table can be read again: the export is now in the trail.
async function exportCsv() {
  const { params, problem } = fromForm();
  if (problem) {
    $("audit-problem").textContent = problem;
    return;
  }
  const button = $("audit-csv");
  button.disabled = true;
  let text;
  try {
    text = await ctx.api("GET", `/api/console/audit.csv?${params}`);
  } catch (error) {
    $("audit-problem").textContent = error.message;
    return;
  } finally {
    button.disabled = false;
  }
  const now = new Date();
  const name = `audit-${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}.csv`;
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  const rows = records(text) - 1; // less the header
  ctx.toast(`Exported ${rows} row${rows === 1 ? "" : "s"} as ${name}. The export is in the trail.`, "ok");
  search = params;
  pages = [null];
  load(0);
}

// The records in a CSV text (line ends inside a quoted cell do not count).
function records(text) {
  let n = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === "\n" && !quoted) n++;
  }
  return n;
}
