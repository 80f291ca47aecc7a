// Her welfare on the officer's page: the check-in her live deployment asks for (a
// discreet vibration, one tap), her escort timer (kept on the phone too: if it runs out
// while the server cannot be told, the phone raises the alert itself, with the id the
// timer was started with, so phone and server raise one alert), and the discreet trigger
// (a Bluetooth remote's key, held for the hold time, raises the alert).

const KEY = { escort: "officer.escort", checkin: "officer.checkin", trigger: "officer.trigger" };
const BUZZ = { checkin: [200, 120, 200], escortSoon: [80, 80, 80] };
const ASK_AGAIN_MS = 60_000; // while a check-in is due, the vibration comes back this often
const REFRESH_MS = 60_000;

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

// host: {link, cfg, vibrate, newId, raiseAlert({id, origin}), escalateAlert(), alertOpen(),
//        alertUrgent(), alertId(), show(sectionId), home()}
let host;
// {alert_id, due (ms, this phone's clock), label, told (the server has it), stopping}
let escort = load(KEY.escort);
let checkin = load(KEY.checkin); // {due (ms, this phone's clock), interval_s} | null
let lastAsked = 0;
let refreshed = 0;
let capturing = false;
let held = null; // the trigger's hold: {timer}
let stopInflight = false;

function serverToLocal(iso) {
  return Date.parse(iso) - (host.link.clockOffsetMs || 0);
}

function fmt(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

// --- state from the server ---------------------------------------------------------------

export async function refresh() {
  if (!host || !host.link.isOpen()) return;
  refreshed = Date.now();
  try {
    const answer = await host.link.request("welfare.state", {});
    if (answer.type === "ack") apply(answer.result);
  } catch {
    /* offline: what the phone knows stands */
  }
}

function apply(view) {
  if (view.checkin) {
    checkin = { due: serverToLocal(view.checkin.due_at), interval_s: view.checkin.interval_s };
  } else checkin = null;
  save(KEY.checkin, checkin);
  const server = view.escort;
  if (server && (!escort || escort.alert_id !== server.alert_id) && !(escort && escort.stopping)) {
    // Started on this phone before a reload, or the server is the only one who knows.
    escort = { alert_id: server.alert_id, due: serverToLocal(server.due_at), label: server.label, told: true };
    save(KEY.escort, escort);
  }
  render();
}

// Everything the server has not been told yet goes now (on every reconnect).
export function onOpen() {
  if (escort && escort.stopping) sendStop();
  else if (escort && !escort.told) sendStart();
  refresh();
}

// --- check-in --------------------------------------------------------------------------

function checkinDue() {
  return Boolean(checkin && Date.now() >= checkin.due);
}

async function checkIn() {
  if (!host.link.isOpen()) return;
  const button = $("checkin");
  button.disabled = true;
  try {
    const answer = await host.link.request("checkin", {});
    if (answer.type === "ack") apply(answer.result);
  } catch {
    /* not answered: the button stays for another try */
  } finally {
    button.disabled = false;
    render();
  }
}

// --- escort timer ----------------------------------------------------------------------

function startEscort(minutes, label) {
  if (!(minutes > 0)) return;
  escort = { alert_id: host.newId(), due: Date.now() + minutes * 60_000, label: label || null, told: false, minutes };
  save(KEY.escort, escort);
  sendStart();
  render();
}

function sendStart() {
  if (!escort || !host.link.isOpen()) return;
  const sent = escort;
  const duration_s = Math.max(30, Math.round((sent.due - Date.now()) / 1000));
  const body = { alert_id: sent.alert_id, duration_s };
  if (sent.label) body.label = sent.label;
  host.link.request("escort.start", body).then(
    (answer) => {
      if (escort !== sent) return;
      if (answer.type === "ack") {
        escort.told = true;
        save(KEY.escort, escort);
      }
    },
    () => {},
  );
}

function stopEscort() {
  if (!escort) return;
  // Told or not (a start may have reached it unanswered), the server is told to stop:
  // stopping is idempotent. Until it answers, the phone raises nothing.
  escort.stopping = true;
  save(KEY.escort, escort);
  sendStop();
  render();
}

function sendStop() {
  if (!escort || !host.link.isOpen() || stopInflight) return;
  const stopping = escort;
  stopInflight = true;
  host.link.request("escort.stop", { alert_id: stopping.alert_id }).then(
    (answer) => {
      stopInflight = false;
      if (escort !== stopping) return;
      if (answer.type === "ack" || answer.code === "illegal_transition") {
        escort = null;
        save(KEY.escort, null);
        render();
      }
    },
    () => {
      stopInflight = false;
    },
  );
}

function escortRanOut() {
  // The phone raises it itself, with the timer's id: if the server raised it already (or
  // does so later) it is the same alert. Offline, it goes the moment the link is back.
  const ran = escort;
  escort = null;
  save(KEY.escort, null);
  host.raiseAlert({ id: ran.alert_id, origin: "escort" });
}

// --- the discreet trigger ---------------------------------------------------------------------

function keyName(event) {
  if (event.key && event.key !== "Unidentified") return event.key;
  if (event.code) return event.code;
  return `keyCode:${event.keyCode}`;
}

function onKeyDown(event) {
  const name = keyName(event);
  if (capturing) {
    event.preventDefault();
    if (name === "Escape") return endCapture();
    save(KEY.trigger, name);
    endCapture();
    return;
  }
  const trigger = load(KEY.trigger);
  if (!trigger || name !== trigger) return;
  if (event.target && ["INPUT", "TEXTAREA"].includes(event.target.tagName) && name.length === 1) return;
  event.preventDefault();
  if (event.repeat || held) return;
  const open = host.alertOpen();
  if (open && host.alertUrgent()) return;
  const seconds = open ? host.cfg.hold_to_escalate_s : host.cfg.hold_to_alert_s;
  held = {
    timer: setTimeout(() => {
      held = null;
      if (open) host.escalateAlert();
      else host.raiseAlert({});
    }, seconds * 1000),
  };
}

function onKeyUp(event) {
  const trigger = load(KEY.trigger);
  if (!trigger || keyName(event) !== trigger) return;
  event.preventDefault();
  if (held) clearTimeout(held.timer);
  held = null;
}

function startCapture() {
  capturing = true;
  $("trigger-key").textContent = "press the button now";
}

function endCapture() {
  capturing = false;
  renderSettings();
}

function renderSettings() {
  const trigger = load(KEY.trigger);
  $("trigger-key").textContent = trigger ? trigger : "none";
  $("trigger-clear").hidden = !trigger;
}

// --- screen ------------------------------------------------------------------------------

export function render() {
  if (!host) return;
  const due = checkinDue();
  const button = $("checkin");
  if (due && button.hidden && !host.alertOpen()) {
    lastAsked = Date.now();
    host.vibrate(BUZZ.checkin);
  } else if (due && Date.now() - lastAsked > ASK_AGAIN_MS) {
    lastAsked = Date.now();
    host.vibrate(BUZZ.checkin);
  }
  button.hidden = !due;
  const running = escort && !escort.stopping;
  $("escort-choose").hidden = Boolean(running) || host.alertOpen();
  $("escort-running").hidden = !running;
  if (running) {
    const left = escort.due - Date.now();
    $("escort-left").textContent = `${escort.label ? `${escort.label} ` : ""}${fmt(left)}`;
  }
}

function tick() {
  if (escort && host.alertId() === escort.alert_id) {
    // Its alert is raised (by the server, or by this phone): the timer is over.
    escort = null;
    save(KEY.escort, null);
  }
  if (escort && !escort.stopping && Date.now() >= escort.due) escortRanOut();
  if (escort && escort.stopping) sendStop();
  if (Date.now() - refreshed > REFRESH_MS) refresh();
  render();
}

export function setup(h) {
  host = h;
  const presets = host.cfg.escort_presets_min || [5, 10, 20];
  const box = $("escort-presets");
  for (const minutes of presets) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.dataset.minutes = String(minutes);
    b.textContent = `${minutes} min`;
    b.addEventListener("click", () => startEscort(minutes, $("escort-label").value.trim()));
    box.appendChild(b);
  }
  $("escort-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startEscort(Number($("escort-minutes").value), $("escort-label").value.trim());
    $("escort-minutes").blur();
  });
  $("escort-stop").addEventListener("click", stopEscort);
  $("checkin").addEventListener("click", checkIn);
  $("settings-open").addEventListener("click", () => {
    renderSettings();
    host.show("settings");
  });
  $("settings-done").addEventListener("click", () => {
    endCapture();
    host.home();
  });
  $("trigger-set").addEventListener("click", startCapture);
  $("trigger-clear").addEventListener("click", () => {
    save(KEY.trigger, null);
    renderSettings();
  });
  document.addEventListener("keydown", onKeyDown, true);
  document.addEventListener("keyup", onKeyUp, true);
  setInterval(tick, 1000);
  render();
}
