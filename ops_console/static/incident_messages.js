// The board's incident panel for the selected open alert (issue 14): messages with the
// crews on it (quick replies and free text; the officer never sees them), her discreet
// vibration codes, and marking the alert an exercise. Kept apart from the alert's detail,
// which is redrawn on every change: this panel's form keeps what is being typed.

import { askReason, clear, el, hhmm } from "./common.js";

const QUICK = [
  ["received", "Received"],
  ["stand_by", "Stand by"],
  ["need_backup", "Need backup"],
  ["all_clear", "All clear"],
];
const SIGNALS = [
  ["help_close", "Help is close"],
  ["stay_put", "Stay put"],
  ["move_away", "Move away"],
];
const MAX_CHARS = 280; // incidents.message_max_chars; the server says so if it is lower

let ctx;
let shownFor = null; // the alert the panel is built for
let shownCount = -1;

export function incidentPanel() {
  return el("section", { id: "incident-panel", class: "panel incident-panel", hidden: true, "aria-label": "Messages with the crews" });
}

export function renderIncidentPanel(c, alert) {
  ctx = c;
  const box = document.getElementById("incident-panel");
  if (!box) return;
  if (!alert) {
    box.hidden = true;
    shownFor = null;
    return;
  }
  box.hidden = false;
  if (shownFor !== alert.id) build(box, alert);
  box.dataset.exercise = String(Boolean(alert.exercise));
  const mark = document.getElementById("incident-exercise");
  mark.textContent = alert.exercise ? "Mark as real" : "Mark as exercise";
  document.getElementById("incident-signals").hidden = Boolean(alert.help_crew_id);
  const list = ctx.store.messages.get(alert.id) || [];
  if (list.length !== shownCount) {
    shownCount = list.length;
    const ol = document.getElementById("incident-messages");
    clear(
      ol,
      list.length
        ? list.map((m) =>
            el(
              "li",
              { dataset: { role: m.role } },
              el("span", { class: "who" }, m.role === "supervisor" ? m.author : `${m.author} (crew)`),
              " ",
              el("span", { class: "text" }, m.text),
              el("span", { class: "muted at" }, ` ${hhmm(m.at)}`),
            ),
          )
        : el("li", { class: "muted" }, "No messages yet."),
    );
    ol.scrollTop = ol.scrollHeight;
  }
}

function build(box, alert) {
  shownFor = alert.id;
  shownCount = -1;
  const input = el("input", { id: "incident-text", maxlength: String(MAX_CHARS), placeholder: "Message to the crews on this alert", autocomplete: "off" });
  clear(
    box,
    el("h3", {}, "Messages with the crews ", el("span", { class: "muted small-note" }, "(never shown to the officer)")),
    el("ol", { id: "incident-messages", class: "incident-messages plain" }),
    el(
      "div",
      { class: "row quick" },
      QUICK.map(([code, words]) => el("button", { type: "button", class: "small", dataset: { quick: code }, onclick: () => send({ quick: code }) }, words)),
    ),
    el(
      "form",
      {
        class: "row",
        id: "incident-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const text = input.value.trim();
          if (text && (await send({ text }))) input.value = "";
        },
      },
      input,
      el("button", { type: "submit", class: "primary" }, "Send"),
    ),
    el(
      "div",
      { class: "row", id: "incident-signals" },
      el("span", { class: "muted" }, "Vibrate her phone:"),
      SIGNALS.map(([code, words]) => el("button", { type: "button", class: "small", dataset: { signal: code }, onclick: () => signal(code) }, words)),
    ),
    el("div", { class: "row" }, el("button", { type: "button", id: "incident-exercise", onclick: () => toggleExercise() }, "Mark as exercise")),
    el("p", { id: "incident-problem", class: "problem", role: "alert" }),
  );
}

async function request(type, body) {
  const problem = document.getElementById("incident-problem");
  problem.textContent = "";
  let answer;
  try {
    answer = await ctx.link.request(type, body);
  } catch {
    problem.textContent = "No connection: try again.";
    return false;
  }
  if (answer.type === "error") {
    problem.textContent = answer.message;
    return false;
  }
  return true;
}

function send(body) {
  return request("message.send", { alert_id: shownFor, ...body });
}

async function signal(code) {
  const words = SIGNALS.find(([c]) => c === code)[1];
  if (await request("officer.signal", { alert_id: shownFor, code })) ctx.toast(`Her phone vibrates: "${words}".`);
}

async function toggleExercise() {
  const alert = ctx.store.alerts.get(shownFor);
  if (!alert) return;
  const want = !alert.exercise;
  const reason = await askReason(want ? "Mark the alert as an exercise (a drill)" : "Mark the alert as real");
  if (!reason) return;
  await request("alert.exercise", { alert_id: alert.id, exercise: want, reason });
}
