// The officer's page: hold to alert, send first, delivered until acknowledged.
import { Link, clock, fixOf, signIn, vibrate, whoAmI } from "./link.js";
import { markExercise, playSignal } from "./officer_incident.js";
import * as welfare from "./welfare.js";

const CFG = JSON.parse(document.getElementById("config").textContent);
const T = CFG.text;
const KEY = { alert: "officer.alert", fix: "officer.fix", me: "officer.me", shareUntil: "officer.shareUntil" };
const OPEN_STATES = new Set(["raised", "dispatching", "unassigned", "assigned", "on_scene"]);
const BUZZ = {
  received: [120],
  crew_assigned: [120, 120, 120],
  crew_on_scene: [400, 150, 400],
  not_delivered: [900, 200, 900, 200, 900],
  no_crew: [250, 250, 250, 250, 700],
};

const $ = (id) => document.getElementById(id);
const load = (key) => {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
};
const save = (key, value) =>
  value == null ? localStorage.removeItem(key) : localStorage.setItem(key, JSON.stringify(value));

// The alert she raised last, until she has seen it end. It survives a reload:
// {id, raisedAt, acked, status, urgent, urgentAcked, category, note, detailAcked,
//  cancelPin, cancelled, closed}
let alert = load(KEY.alert);
let fix = load(KEY.fix); // the last known position; sent only while it is needed
let me = load(KEY.me);
const openAlerts = new Set(); // her alerts that the server says are open
const deployments = new Map();
const inflight = new Set();
let lastSent = 0;
let watchId = null;
let watchHigh = null;
let wakeLock = null;
let confirmCode = null;
let entered = "";

const link = new Link({
  onOpen: () => {
    deliver();
    welfare.onOpen(); // her escort timer's start or stop, if the server was not told
  },
  onFrame: receive,
  onState: showLink,
  onRefused: checkSignedIn,
  onSignedOut: () => showSignIn(),
});

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function store() {
  save(KEY.alert, alert);
}

function alertIsOpen() {
  return (alert && !alert.closed) || openAlerts.size > 0;
}

function deploymentLive() {
  const now = Date.now();
  for (const d of deployments.values()) {
    if (d.state === "live" && Date.parse(d.ends_at) > now) return true;
  }
  return false;
}

// After any cancel, whichever PIN it was, the page goes on sharing her position for
// pages.share_after_cancel_s: after her duress PIN the alert is open for supervisors and
// crews, and her phone must not behave differently from a real cancel.
function sharingAfterCancel() {
  const until = load(KEY.shareUntil);
  return typeof until === "number" && Date.now() < until;
}

function sharing() {
  return alertIsOpen() || deploymentLive() || sharingAfterCancel();
}

// --- screens -------------------------------------------------------------------------------

function show(id) {
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== id;
  }
}

function showSignIn(message = "") {
  me = null;
  save(KEY.me, null);
  link.stop();
  $("signin-error").textContent = message;
  show("signin");
}

function showLink(state) {
  const dot = $("dot");
  dot.dataset.link = state === "synced" || state === "open" ? "online" : state;
  dot.setAttribute("aria-label", dot.dataset.link);
}

function showDeployment() {
  const now = Date.now();
  const mine = [...deployments.values()]
    .filter((d) => (d.state === "live" || d.state === "briefed") && Date.parse(d.ends_at) > now)
    .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  // Never "Off" while her alert is open: her position is being shared. (Not after a
  // duress "cancel": her screen must look cancelled.)
  let text = alert && !alert.closed && !alert.cancelled ? "Sharing location" : "Off";
  const live = mine.find((d) => d.state === "live");
  if (live) text = `Live until ${clock(live.ends_at)}`;
  else if (mine.length) {
    const start = new Date(mine[0].starts_at);
    const today = start.toDateString() === new Date().toDateString();
    const day = today ? "" : `${start.toLocaleDateString([], { weekday: "short" })} `;
    text = `Starts ${day}${clock(mine[0].starts_at)}`;
  }
  $("deployment").textContent = text;
}

function statusOf() {
  if (!alert || (alert.closed && !alert.cancelled && alert.status !== "resolved")) return "idle";
  if (!alert.acked) return "sending";
  return alert.status;
}

function render() {
  if (!me) return;
  if (alert && alert.cancelled) {
    $("cancelled-text").textContent = T.cancelled;
    show("cancelled");
    return;
  }
  showDeployment();
  welfare.render();
  if (!$("confirm").hidden || !$("settings").hidden) return;
  show("home");
  const status = statusOf();
  const sign = $("status");
  sign.dataset.status = status;
  sign.dataset.urgent = String(Boolean(alert && alert.urgent && !alert.closed));
  sign.textContent = status === "idle" ? "" : T[status] || T.received;
  const open = alert && !alert.closed;
  const hold = $("hold");
  hold.dataset.mode = open ? "escalate" : "alert";
  hold.hidden = Boolean(open && alert.urgent);
  $("hold-label").textContent = open ? T.urgent : T.ready;
  $("details").hidden = !open;
  for (const chip of document.querySelectorAll(".chip")) {
    chip.setAttribute("aria-pressed", String(Boolean(open && alert.category === chip.dataset.category)));
  }
  const late = open && !alert.acked && Date.now() - alert.raisedAt > CFG.not_delivered_after_s * 1000;
  const undelivered = $("undelivered");
  if (late && undelivered.hidden) vibrate(BUZZ.not_delivered);
  undelivered.hidden = !late;
  undelivered.textContent = late ? T.not_delivered : "";
  // Delivered, still open, and no crew has accepted it for a while: she is told, discreetly.
  const noCrew =
    open && alert.acked && alert.status === "received" && Date.now() - alert.raisedAt > CFG.no_crew_after_s * 1000;
  const noCrewSign = $("no-crew");
  if (noCrew && noCrewSign.hidden) vibrate(BUZZ.no_crew);
  noCrewSign.hidden = !noCrew;
  noCrewSign.textContent = noCrew ? T.no_crew : "";
}

// --- the hold control ----------------------------------------------------------------------

function setupHold() {
  const hold = $("hold");
  let started = null;
  let frame = null;
  const reset = () => {
    started = null;
    cancelAnimationFrame(frame);
    hold.dataset.holding = "false";
    hold.style.setProperty("--fill", "0");
  };
  const tick = () => {
    if (started === null) return;
    const escalate = hold.dataset.mode === "escalate";
    const needed = (escalate ? CFG.hold_to_escalate_s : CFG.hold_to_alert_s) * 1000;
    const part = Math.min(1, (performance.now() - started) / needed);
    hold.style.setProperty("--fill", String(part));
    if (part >= 1) {
      reset();
      if (escalate) escalateAlert();
      else raiseAlert();
      return;
    }
    frame = requestAnimationFrame(tick);
  };
  hold.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    hold.setPointerCapture?.(event.pointerId);
    started = performance.now();
    hold.dataset.holding = "true";
    frame = requestAnimationFrame(tick);
  });
  for (const kind of ["pointerup", "pointercancel", "lostpointercapture"]) {
    hold.addEventListener(kind, reset);
  }
  hold.addEventListener("contextmenu", (event) => event.preventDefault());
}

// --- the alert ---------------------------------------------------------------------------

// `id` and `origin`: her escort timer ran out (welfare.js), with the id it started with.
function raiseAlert({ id = null, origin = null } = {}) {
  if (alert && !alert.closed) return;
  alert = {
    id: id || newId(),
    origin,
    raisedAt: Date.now(),
    acked: false,
    status: "sending",
    urgent: false,
    urgentAcked: true,
    category: null,
    note: null,
    detailAcked: true,
    cancelPin: null,
    cancelled: false,
    closed: false,
  };
  store();
  render();
  alertStarted();
  deliver();
}

function escalateAlert() {
  if (!alert || alert.closed || alert.urgent) return;
  alert.urgent = true;
  alert.urgentAcked = false;
  store();
  vibrate([60, 60, 60, 60, 60]);
  render();
  deliver();
}

function addDetail(change) {
  if (!alert || alert.closed) return;
  Object.assign(alert, change, { detailAcked: false });
  store();
  render();
  deliver();
}

// Everything not yet acknowledged goes now, in order: the alert, then what followed it.
// Called on every (re)connect, before the sync, and after each change.
function deliver() {
  if (!link.isOpen() || !alert || alert.closed) return;
  if (!alert.acked) {
    if (inflight.has("raise")) return;
    // At once, fix or not: with none yet it goes as "position unknown", and her first
    // fix follows as a position. The press time is her phone's, with the link's measure
    // of how far this phone's clock is from the server's.
    const body = { alert_id: alert.id, urgent: alert.urgent, pressed_at: new Date(alert.raisedAt).toISOString() };
    if (fix) body.position = fix;
    if (link.clockOffsetMs !== null) body.clock_offset_ms = link.clockOffsetMs;
    if (alert.category) body.category = alert.category;
    if (alert.note) body.note = alert.note;
    if (alert.origin) body.origin = alert.origin;
    send("raise", "alert.raise", body, (answer) => {
      if (answer.type !== "ack") return;
      alert.acked = true;
      // Urgent only if this raise said so: held again while it was on its way, the
      // escalation goes next (deliver, below).
      if (body.urgent) alert.urgentAcked = true;
      if (alert.status === "sending") setStatus(answer.result.status);
      openAlerts.add(alert.id);
      deliver();
    });
    return;
  }
  if (!alert.urgentAcked && !inflight.has("escalate")) {
    send("escalate", "alert.escalate", { alert_id: alert.id }, (answer) => {
      alert.urgentAcked = answer.type === "ack" || answer.code === "illegal_transition";
    });
  }
  if (!alert.detailAcked && !inflight.has("detail")) {
    const body = { alert_id: alert.id };
    if (alert.category) body.category = alert.category;
    if (alert.note) body.note = alert.note;
    const sent = JSON.stringify(body);
    send("detail", "alert.detail", body, (answer) => {
      const current = { alert_id: alert.id, category: alert.category || undefined, note: alert.note || undefined };
      if (answer.type === "ack" && JSON.stringify(current) === sent) alert.detailAcked = true;
      else if (answer.type === "ack") deliver();
    });
  }
  if (alert.cancelPin !== null && !inflight.has("cancel")) {
    const body = { alert_id: alert.id };
    if (alert.cancelPin) body.pin = alert.cancelPin;
    send("cancel", "alert.cancel", body, (answer) => {
      alert.cancelPin = null;
      if (answer.type === "ack") {
        alert.cancelled = true; // the same screen whichever PIN it was
        save(KEY.shareUntil, Date.now() + CFG.share_after_cancel_s * 1000);
        watchPosition();
        entered = "";
      } else {
        $("confirm-error").textContent = answer.message;
        entered = "";
        showDots();
      }
    });
  }
}

function send(slot, type, body, onAnswer) {
  inflight.add(slot);
  link.request(type, body).then(
    (answer) => {
      inflight.delete(slot);
      if (alert && alert.id === body.alert_id) {
        onAnswer(answer);
        store();
        render();
      }
    },
    () => inflight.delete(slot),
  );
}

function setStatus(status) {
  if (!alert || status === alert.status) return;
  alert.status = status;
  if (BUZZ[status] && !alert.cancelled) vibrate(BUZZ[status]);
}

function alertStarted() {
  watchPosition();
  keepAwake();
}

function alertEnded() {
  watchPosition();
  keepAwake();
}

// --- frames from the server ------------------------------------------------------------------

function receive(frame) {
  // A supervisor's vibration code (issue 14): felt, never shown.
  if (playSignal(frame, { clockOffsetMs: link.clockOffsetMs, maxAgeS: CFG.signal_max_age_s })) return;
  switch (frame.type) {
    case "snapshot":
      openAlerts.clear();
      for (const view of frame.alerts) if (OPEN_STATES.has(view.state)) openAlerts.add(view.id);
      deployments.clear();
      for (const d of frame.deployments || []) deployments.set(d.id, d);
      if (alert && alert.acked && !alert.closed && !openAlerts.has(alert.id)) {
        // It ended while this page was away: resolved or cancelled by someone else.
        alert.closed = true;
        setStatus("resolved");
        store();
      }
      for (const view of frame.alerts) adoptSystemAlert(view);
      for (const view of frame.alerts) if (alert && view.id === alert.id) applyAlert(view);
      welfare.refresh();
      break;
    case "alert":
      if (OPEN_STATES.has(frame.alert.state)) openAlerts.add(frame.alert.id);
      else openAlerts.delete(frame.alert.id);
      adoptSystemAlert(frame.alert);
      if (alert && frame.alert.id === alert.id) applyAlert(frame.alert);
      break;
    case "alert.removed":
      openAlerts.delete(frame.alert_id);
      break;
    case "deployment":
      deployments.set(frame.deployment.id, frame.deployment);
      welfare.refresh(); // a live deployment may ask for check-ins
      break;
    default:
      return;
  }
  markExercise(frame, deployments); // EXERCISE while her alert or deployment is a drill
  showDeployment();
  alertEnded();
  render();
}

// An alert the system raised for her (a missed check-in, her escort timer run out while
// this page was away): her page follows it as if she had raised it, so she can cancel it.
function adoptSystemAlert(view) {
  if (!view.origin || view.origin === "officer" || !OPEN_STATES.has(view.state)) return;
  if (alert && !alert.closed) return;
  alert = {
    id: view.id,
    origin: view.origin,
    raisedAt: Date.parse(view.raised_at) || Date.now(),
    acked: true,
    status: view.status,
    urgent: Boolean(view.urgent),
    urgentAcked: true,
    category: view.category,
    note: null,
    detailAcked: true,
    cancelPin: null,
    cancelled: false,
    closed: false,
  };
  store();
  alertStarted();
}

function applyAlert(view) {
  alert.acked = true;
  if (!OPEN_STATES.has(view.state)) alert.closed = true;
  if (view.state === "cancelled") alert.cancelled = true;
  setStatus(view.status);
  store();
  if (alert.closed && !alert.cancelled) setTimeout(finish, 8000);
}

function finish() {
  if (alert && alert.closed) {
    alert = null;
    store();
  }
  render();
}

// --- position ----------------------------------------------------------------------------

function watchPosition() {
  if (!navigator.geolocation) return;
  const high = alertIsOpen() || sharingAfterCancel(); // as while the alert was open
  if (watchId !== null && watchHigh === high) return;
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchHigh = high;
  watchId = navigator.geolocation.watchPosition(
    (position) => {
      fix = fixOf(position);
      save(KEY.fix, fix);
      sendPosition(); // an alert raised with no fix is placed by the first one
    },
    () => {},
    { enableHighAccuracy: high, maximumAge: high ? 0 : 30000, timeout: 60000 },
  );
}

function sendPosition() {
  if (!fix || !sharing() || !link.isOpen()) return;
  if (Date.now() - lastSent < 1000) return;
  lastSent = Date.now();
  link.request("position", { position: fix }).catch(() => {});
}

async function keepAwake() {
  const want = alertIsOpen() || deploymentLive();
  try {
    if (want && !wakeLock && navigator.wakeLock) {
      wakeLock = await navigator.wakeLock.request("screen");
      wakeLock.addEventListener("release", () => {
        wakeLock = null;
      });
    } else if (!want && wakeLock) {
      await wakeLock.release();
      wakeLock = null;
    }
  } catch {
    wakeLock = null; // refused (battery saver, hidden page): try again later
  }
}

// --- cancel, with a confirmation a pocket cannot give --------------------------------------------

function openConfirm() {
  entered = "";
  $("confirm-error").textContent = "";
  if (me && me.has_pins) {
    confirmCode = null;
    $("confirm-prompt").textContent = "Enter PIN to cancel";
  } else {
    const digits = crypto.getRandomValues(new Uint8Array(4));
    confirmCode = Array.from(digits, (d) => String(d % 10)).join("");
    $("confirm-prompt").textContent = `Type ${confirmCode.split("").join(" ")} to cancel`;
  }
  showDots();
  show("confirm");
}

function showDots() {
  $("confirm-dots").textContent = "\u25CF".repeat(entered.length) + "\u25CB".repeat(4 - entered.length);
}

function keyDigit(digit) {
  if (entered.length >= 4 || (alert && alert.cancelPin !== null)) return;
  entered += digit;
  $("confirm-error").textContent = "";
  showDots();
  if (entered.length < 4) return;
  if (confirmCode !== null && entered !== confirmCode) {
    $("confirm-error").textContent = "That is not the number shown.";
    entered = "";
    showDots();
    return;
  }
  if (!alert || alert.closed) return closeConfirm();
  alert.cancelPin = confirmCode === null ? entered : "";
  store();
  deliver();
}

function closeConfirm() {
  entered = "";
  show("home");
  render();
}

// --- start ---------------------------------------------------------------------------------

function setup() {
  setupHold();
  welfare.setup({
    link,
    cfg: CFG,
    vibrate,
    newId,
    raiseAlert,
    escalateAlert,
    alertOpen: () => Boolean(alert && !alert.closed),
    alertUrgent: () => Boolean(alert && !alert.closed && alert.urgent),
    alertId: () => (alert ? alert.id : null),
    show,
    home: () => {
      show("home");
      render();
    },
  });
  for (const chip of document.querySelectorAll(".chip")) {
    chip.addEventListener("click", () => addDetail({ category: chip.dataset.category }));
  }
  $("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const note = $("note").value.trim();
    if (note) addDetail({ note });
    $("note").blur();
  });
  $("cancel").addEventListener("click", openConfirm);
  for (const key of document.querySelectorAll("[data-digit]")) {
    key.addEventListener("click", () => keyDigit(key.dataset.digit));
  }
  $("confirm-back").addEventListener("click", closeConfirm);
  $("confirm-erase").addEventListener("click", () => {
    entered = entered.slice(0, -1);
    showDots();
  });
  $("cancelled-ok").addEventListener("click", () => {
    if (alert && alert.cancelled) alert = null; // a duress "cancel" keeps streaming while open
    store();
    show("home");
    render();
  });
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await signIn($("username").value.trim(), $("password").value);
    if (!result.ok) {
      $("signin-error").textContent = result.message;
      return;
    }
    $("password").value = "";
    await start();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") keepAwake();
  });
  setInterval(() => {
    render();
    showDeployment();
    // Every second while an alert is open; every 10 s while only a deployment is live
    // (a phone standing still gets no new fix, yet the board must know she is there).
    if (alertIsOpen() || sharingAfterCancel() || (deploymentLive() && Date.now() - lastSent >= 10000)) sendPosition();
  }, 1000);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/officer-sw.js", { scope: "/officer" }).catch(() => {});
  }
}

async function checkSignedIn() {
  const who = await whoAmI();
  if (who.state === "out") showSignIn();
}

async function start() {
  const who = await whoAmI();
  if (who.state === "out") return showSignIn();
  if (who.state === "in") {
    if (who.me.role !== "officer") {
      return showSignIn("This page is for officers.");
    }
    me = who.me;
    save(KEY.me, me);
  }
  if (!me) return showSignIn(); // never signed in on this device, and no network
  render();
  showDeployment();
  watchPosition();
  keepAwake();
  link.start();
}

setup();
start();
