// The crew page's incident parts: messages with control and the other crews on the alert
// (quick replies and free text), the crews beside it, and "crew needs help" (held like
// the officer's button; the call is kept until the server has it, then resent on
// reconnect with the same id, so it is raised once).

import { clock, vibrate } from "./link.js";

const $ = (id) => document.getElementById(id);
const PENDING = "crew-help-pending";
const BUZZ_CALLED = [300, 100, 300];

export const messages = new Map(); // alert id -> messages, oldest first

export function keepMessage(m) {
  const list = messages.get(m.alert_id) || [];
  if (!list.some((x) => x.id === m.id)) list.push(m);
  messages.set(m.alert_id, list);
}

export function snapshotMessages(list) {
  messages.clear();
  for (const m of list || []) keepMessage(m);
}

// The messages panel for one alert (or hidden with none).
export function renderMessages(alert, myCrewId) {
  const panel = $("incident-messages");
  panel.hidden = !alert;
  if (!alert) return;
  panel.dataset.alertId = alert.id;
  const list = $("message-list");
  const shown = messages.get(alert.id) || [];
  if (list.dataset.count === String(shown.length) && list.dataset.alertId === alert.id) return;
  list.dataset.count = String(shown.length);
  list.dataset.alertId = alert.id;
  list.replaceChildren(
    ...shown.map((m) => {
      const li = document.createElement("li");
      li.dataset.role = m.role;
      li.dataset.mine = String(m.crew_id === myCrewId);
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = m.role === "supervisor" ? `Control (${m.author})` : m.author;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = m.text;
      const at = document.createElement("span");
      at.className = "at";
      at.textContent = clock(m.at);
      li.append(who, text, at);
      return li;
    }),
  );
  list.scrollTop = list.scrollHeight;
}

export function setupMessages(cfg, link) {
  const quick = cfg.quick_replies || {};
  $("message-text").maxLength = cfg.message_max_chars || 280;
  // The replies a crew uses most, one tap each.
  for (const code of ["received", "on_my_way", "on_scene", "need_backup", "suspect_detained", "all_clear"]) {
    if (!quick[code]) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.quick = code;
    button.textContent = quick[code];
    button.addEventListener("click", () => send(link, { quick: code }));
    $("quick-replies").append(button);
  }
  $("message-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("message-text").value.trim();
    if (!text) return;
    if (await send(link, { text })) $("message-text").value = "";
  });
}

async function send(link, body) {
  const alertId = $("incident-messages").dataset.alertId;
  $("message-error").textContent = "";
  if (!alertId) return false;
  let answer;
  try {
    answer = await link.request("message.send", { alert_id: alertId, ...body });
  } catch {
    $("message-error").textContent = "No connection: try again.";
    return false;
  }
  if (answer.type === "error") {
    $("message-error").textContent = answer.message;
    return false;
  }
  return true;
}

// "BRAVO-2 on scene, 120 m N": the other crews on this alert, from its view and their
// latest positions (crews on one alert see each other).
export function renderBeside(alert, myCrewId, crewsAt, describe) {
  const list = $("beside");
  const others = (alert.crews || []).filter((c) => c.crew_id !== myCrewId);
  list.replaceChildren(
    ...others.map((c) => {
      const li = document.createElement("li");
      li.dataset.crewId = c.crew_id;
      const at = crewsAt.get(c.crew_id);
      const status = c.status === "on_scene" ? "on scene" : "en route";
      li.textContent = `${c.callsign}: ${status}${at ? `, ${describe(at)}` : ""}`;
      return li;
    }),
  );
}

// --- crew needs help --------------------------------------------------------------------

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function setupHelp(cfg, link, { position, onCalled }) {
  const button = $("help-hold");
  const holdMs = Math.round((cfg.hold_to_help_s || 0.8) * 1000);
  button.style.setProperty("--hold", `${holdMs}ms`);
  let timer = null;
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
    button.classList.remove("holding");
  };
  button.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    if (timer) return;
    button.classList.add("holding");
    timer = setTimeout(() => {
      cancel();
      localStorage.setItem(PENDING, JSON.stringify({ id: newId(), position: position() }));
      vibrate(BUZZ_CALLED);
      sendPending(link).then(onCalled);
    }, holdMs);
  });
  for (const kind of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(kind, cancel);
  button.addEventListener("contextmenu", (event) => event.preventDefault());
}

// The call the server has not acknowledged yet, sent (again) with the same id.
export async function sendPending(link) {
  const raw = localStorage.getItem(PENDING);
  if (!raw) return null;
  const pending = JSON.parse(raw);
  const body = { alert_id: pending.id };
  if (pending.position) body.position = pending.position;
  let answer;
  try {
    answer = await link.request("crew.help", body);
  } catch {
    return "Not sent yet: it goes as soon as the connection is back.";
  }
  if (answer.type === "error" && answer.code !== "invalid") return answer.message;
  localStorage.removeItem(PENDING);
  return answer.type === "error" ? answer.message : null;
}

export function helpPending() {
  return localStorage.getItem(PENDING) !== null;
}
