// The console's shell: sign-in, tabs, the live store fed by the websocket, the alarm for
// alerts nobody has taken, and the screens (each a module with mount(ctx) and show(arg)).
// A supervisor gets every screen but Audit; an auditor gets Audit alone, and no websocket
// (the server refuses her one: she has no live view).

import { Link } from "/pages/static/link.js";
import { api, ApiError, clear, el, isOpenAlert } from "./common.js";
import * as board from "./board.js";
import * as planning from "./planning.js";
import * as incidents from "./incidents.js";
import * as reports from "./reports.js";
import * as publicReports from "./public_reports.js";
import * as people from "./people.js";
import * as audit from "./audit.js";

const SUPERVISOR_SCREENS = { board, planning, incidents, reports, "public-reports": publicReports, people };
const AUDITOR_SCREENS = { audit };
let SCREENS = SUPERVISOR_SCREENS; // the signed-in role's
const $ = (id) => document.getElementById(id);

// --- the live store: what the supervisor's websocket says, kept current ---------------------------

const listeners = new Set();
export const store = {
  alerts: new Map(),
  offers: new Map(),
  crews: new Map(),
  positions: new Map(), // "officer:<user id>" | "crew:<crew id>" -> position frame
  deployments: new Map(),
  messages: new Map(), // alert id -> its messages with the crews, oldest first
  warnings: new Map(), // welfare warnings (missed check-ins, silent phones), by id
  seq: null,
  synced: false,
};

function changed(kind, frame) {
  for (const fn of listeners) {
    try {
      fn(kind, frame);
    } catch (error) {
      console.error(error);
    }
  }
}

function apply(frame) {
  switch (frame.type) {
    case "snapshot":
      store.alerts = new Map(frame.alerts.map((a) => [a.id, a]));
      store.offers = new Map(frame.offers.map((o) => [o.id, o]));
      store.crews = new Map(frame.crews.map((c) => [c.id, c]));
      store.positions = new Map(frame.positions.map((p) => [`${p.role}:${p.subject_id}`, p]));
      store.deployments = new Map(frame.deployments.map((d) => [d.id, d]));
      store.messages = new Map();
      for (const m of frame.messages || []) keepMessage(m);
      store.warnings = new Map((frame.warnings || []).map((w) => [w.id, w]));
      break;
    case "welfare.warning":
      store.warnings.set(frame.warning.id, frame.warning);
      break;
    case "welfare.clear":
      store.warnings.delete(frame.warning.id);
      break;
    case "alert":
      if (isOpenAlert(frame.alert)) store.alerts.set(frame.alert.id, frame.alert);
      else store.alerts.delete(frame.alert.id);
      break;
    case "alert.removed":
      store.alerts.delete(frame.alert_id);
      break;
    case "message":
      keepMessage(frame.message);
      break;
    case "offer":
      if (frame.offer.state === "offered") store.offers.set(frame.offer.id, frame.offer);
      else store.offers.delete(frame.offer.id);
      break;
    case "crew":
      store.crews.set(frame.crew.id, frame.crew);
      break;
    case "deployment":
      if (["briefed", "live"].includes(frame.deployment.state)) {
        store.deployments.set(frame.deployment.id, frame.deployment);
      } else store.deployments.delete(frame.deployment.id);
      break;
    case "position":
      store.positions.set(`${frame.role}:${frame.subject_id}`, frame);
      break;
    case "positions":
      for (const p of frame.positions) store.positions.set(`${p.role}:${p.subject_id}`, p);
      break;
    case "synced":
      store.synced = true;
      break;
    default:
      return;
  }
  if (["snapshot", "alert", "alert.removed", "deployment", "position", "positions"].includes(frame.type)) {
    pruneOfficers();
  }
  changed(frame.type, frame);
}

function keepMessage(m) {
  const list = store.messages.get(m.alert_id) || [];
  if (!list.some((x) => x.id === m.id)) list.push(m);
  store.messages.set(m.alert_id, list);
}

// An officer belongs on the map only while an alert of hers is open or a deployment of
// hers is live (the server sends no more of her positions after that).
function pruneOfficers() {
  const present = new Set();
  for (const a of store.alerts.values()) present.add(a.officer_id);
  for (const d of store.deployments.values()) {
    if (d.state === "live") for (const id of d.officer_ids || []) present.add(id);
  }
  for (const key of [...store.positions.keys()]) {
    if (key.startsWith("officer:") && !present.has(key.slice("officer:".length))) {
      store.positions.delete(key);
    }
  }
}

// --- the alarm: unassigned or urgent alerts nobody has taken ---------------------------------------

export function needsTaking(alert) {
  return isOpenAlert(alert) && !alert.taken_by && (alert.state === "unassigned" || alert.urgent);
}

let audio = null;
let lastBeep = 0;

// Browsers start a page's sound suspended until someone clicks or types on it: the header
// says so, and any click or key turns it on.
function soundOn() {
  try {
    audio = audio || new AudioContext();
    if (audio.state !== "running") audio.resume().then(showSound, showSound);
  } catch {
    audio = null;
  }
  showSound();
}

function showSound() {
  $("sound").hidden = !link || !$("screens") || $("screens").hidden || (audio !== null && audio.state === "running");
}

function beep() {
  document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.25, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  } catch {
    /* no sound on this machine: the banner still shows */
  }
  showSound();
}

function alarm() {
  const waiting = [...store.alerts.values()].filter(needsTaking);
  const banner = $("banner");
  banner.hidden = waiting.length === 0;
  document.body.classList.toggle("alarming", waiting.length > 0);
  if (!waiting.length) return;
  const unassigned = waiting.filter((a) => a.state === "unassigned").length;
  const urgent = waiting.length - unassigned;
  const count = (n, kind) => `${n} ${kind} alert${n === 1 ? "" : "s"}`;
  const parts = [];
  if (unassigned) parts.push(count(unassigned, "unassigned"));
  if (urgent) parts.push(count(urgent, "urgent"));
  clear(
    banner,
    el("strong", {}, `${parts.join(" and ")} ${waiting.length > 1 ? "need" : "needs"} a supervisor`),
    el("button", { type: "button", id: "banner-show", onclick: () => go("board", waiting[0].id) }, "Show"),
  );
  if (Date.now() - lastBeep > 4000) {
    lastBeep = Date.now();
    beep();
  }
}

// --- tabs -------------------------------------------------------------------------------------

let current = null;
const mounted = new Set();
let ctx = null;

export function go(tab, arg) {
  if (!SCREENS[tab]) return;
  for (const button of document.querySelectorAll("#tabs button")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const section of document.querySelectorAll(".screen")) section.hidden = section.dataset.screen !== tab;
  const screen = SCREENS[tab];
  if (!mounted.has(tab)) {
    mounted.add(tab);
    screen.mount({ ...ctx, root: $(`screen-${tab}`) });
  }
  current = tab;
  if (location.hash.slice(1).split("/")[0] !== tab) history.replaceState(null, "", `#${tab}`);
  screen.show?.(arg);
}

export function toast(message, kind = "info") {
  const note = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  $("toasts").append(note);
  setTimeout(() => note.remove(), kind === "error" ? 8000 : 4000);
}

// --- start ------------------------------------------------------------------------------------

let link = null;

function showSignIn(message = "") {
  $("link").hidden = true; // no link to speak of before anyone has signed in
  $("signin").hidden = false;
  $("screens").hidden = true;
  $("tabs").hidden = true;
  $("sign-out").hidden = true;
  $("signin-error").textContent = message;
  link?.stop();
}

async function start() {
  let me;
  try {
    me = await api("GET", "/api/session");
  } catch (error) {
    showSignIn(error instanceof ApiError && error.status !== 401 ? error.message : "");
    return;
  }
  if (me.role === "auditor") {
    startAudit(me);
    return;
  }
  if (me.role !== "supervisor") {
    await api("DELETE", "/api/session").catch(() => {});
    showSignIn("The console is for supervisors only.");
    return;
  }
  showShell(me, SUPERVISOR_SCREENS);
  $("link").hidden = false;
  link = new Link({
    onFrame: apply,
    onState: (state) => {
      const node = $("link");
      node.dataset.link = state;
      node.textContent = { synced: "live", open: "syncing", connecting: "connecting" }[state] || "offline";
      if (state !== "synced") store.synced = false;
    },
    onSignedOut: () => showSignIn("Your session ended: sign in again."),
    onRefused: () => {},
  });
  ctx = {
    api,
    link,
    store,
    me,
    go,
    toast,
    needsTaking,
    on: (fn) => listeners.add(fn),
  };
  listeners.add(() => alarm());
  link.start();
  const [tab, arg] = location.hash.slice(1).split("/");
  go(SCREENS[tab] ? tab : "board", arg ? decodeURIComponent(arg) : undefined);
  setInterval(alarm, 5000);
  showSound();
}

// The page for a signed-in user: her tabs only (the others leave the page).
function showShell(me, screens) {
  SCREENS = screens;
  for (const button of document.querySelectorAll("#tabs button")) {
    if (SCREENS[button.dataset.tab]) button.hidden = false;
    else button.remove();
  }
  for (const section of document.querySelectorAll(".screen")) {
    if (!SCREENS[section.dataset.screen]) section.remove();
  }
  $("signin").hidden = true;
  $("screens").hidden = false;
  $("tabs").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = me.username;
}

// An auditor: the Audit view alone, read over REST. No socket, no store, no alarm.
function startAudit(me) {
  showShell(me, AUDITOR_SCREENS);
  ctx = { api, me, go, toast, on: () => {} };
  go("audit");
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  let answer;
  try {
    answer = await api("POST", "/api/session", { username: $("username").value.trim(), password: $("password").value });
  } catch (error) {
    $("signin-error").textContent = error.message;
    return;
  }
  if (answer.code !== "second_factor_required") {
    location.reload(); // a clean start: one socket, one store
    return;
  }
  // The password was right: a code comes next (and, at first sign-in, the enrolment).
  challenge = answer.challenge;
  $("signin-form").hidden = true;
  $("code-form").hidden = false;
  $("enrol").hidden = !answer.enrol;
  if (answer.enrol) {
    $("enrol-qr").innerHTML = answer.qr_svg; // an SVG the server made from the otpauth URI
    $("enrol-secret").textContent = answer.secret;
  }
  $("code").focus();
});

let challenge = null;

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("code-error").textContent = "";
  let session;
  try {
    session = await api("POST", "/api/session/code", { challenge, code: $("code").value.trim() });
  } catch (error) {
    $("code-error").textContent = error.message;
    if (error.code === "auth_expired") setTimeout(() => location.reload(), 3000);
    return;
  }
  if (!session.recovery_codes) {
    location.reload();
    return;
  }
  $("code-form").hidden = true;
  $("enrol-qr").textContent = "";
  clear($("recovery-codes"));
  for (const code of session.recovery_codes) $("recovery-codes").append(el("li", {}, code));
  $("recovery").hidden = false;
});

$("recovery-done").addEventListener("click", () => location.reload());

// A console in use stays signed in: activity tells the server, at most once a minute.
let lastTouch = Date.now();
function touchSession() {
  if ($("screens").hidden || Date.now() - lastTouch < 60_000) return;
  lastTouch = Date.now();
  api("GET", "/api/session").catch(() => {});
}
addEventListener("pointerdown", touchSession, true);
addEventListener("keydown", touchSession, true);

addEventListener("pointerdown", soundOn, true);
addEventListener("keydown", soundOn, true);
$("sound").addEventListener("click", () => {
  soundOn();
  beep();
});

$("sign-out").addEventListener("click", async () => {
  await api("DELETE", "/api/session").catch(() => {});
  history.replaceState(null, "", "/console");
  location.reload();
});

for (const button of document.querySelectorAll("#tabs button")) {
  button.addEventListener("click", () => go(button.dataset.tab));
}
document.addEventListener("signed-out", () => showSignIn("Your session ended: sign in again."));

start();
