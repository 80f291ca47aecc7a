// The crew's page: duty, position, offers with a countdown, the assignment map and outcome.
import { baseMap, spreadLabels } from "./basemap.js";
import { Link, ago, clock, fixOf, signIn, vibrate, whoAmI } from "./link.js";
import {
  helpPending,
  keepMessage,
  messages,
  renderBeside,
  renderMessages,
  sendPending,
  setupHelp,
  setupMessages,
  snapshotMessages,
} from "./crew_incident.js";

const CFG = JSON.parse(document.getElementById("config").textContent);
const CATEGORY = {
  verbal: "Verbal",
  following: "Following",
  intimidation: "Intimidation",
  physical: "Physical",
  vehicle: "Vehicle",
};
const COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
const BUZZ_STOOD_DOWN = [200, 100, 200, 100, 200, 100, 800];
const $ = (id) => document.getElementById(id);

let me = null;
let crew = null; // our CrewView
let fix = null;
let fixSentAt = 0;
let outcomeOpen = false;
let audio = null;
let map = null;
let fitted = false; // drawn for the current assignment
let following = true; // the map keeps her and the crew in view until the crew moves it
let moving = false; // the page itself is moving the map
let resolving = null; // the alert this crew is resolving itself: no "stood down" for it
let stoodDown = null; // why the crew was last stood down, until it is seen
const offers = new Map();
const alerts = new Map();
const officerAt = new Map(); // alert id -> latest live position of her
const crewsAt = new Map(); // crew id -> latest live position of a crew beside this one
let helpProblem = null; // why the last call for help did not go

const link = new Link({
  onFrame: receive,
  onState: showLink,
  onRefused: checkSignedIn,
  onSignedOut: () => showSignIn("Signed out: sign in again."),
});

function show(id) {
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== id;
  }
}

function showSignIn(message = "") {
  me = null;
  link.stop();
  $("signin-error").textContent = message;
  $("offer").hidden = true;
  show("signin");
}

function showLink(state) {
  const online = state === "open" || state === "synced";
  $("dot").dataset.link = online ? "online" : state;
  $("dot").setAttribute("aria-label", online ? "online" : state);
  $("offline").hidden = online || !me;
  // Back in sync: the fix the phone already has goes at once (a crew standing still would
  // otherwise wait for the next periodic fix, and be ranked by an older one).
  if (state === "synced") {
    sendFix(true);
    if (helpPending()) sendPending(link).then(helpCalled);
  }
}

// This crew's own call for help, while it is open.
function helpAlert() {
  for (const alert of alerts.values()) if (me && alert.help_crew_id === me.crew_id) return alert;
  return null;
}

function helpCalled(problem) {
  helpProblem = problem;
  render();
}

function onDuty() {
  return crew !== null && crew.state !== "off_duty";
}

function currentOffer() {
  const now = Date.now();
  for (const offer of offers.values()) {
    if (offer.state === "offered" && Date.parse(offer.deadline) > now - 1000) return offer;
  }
  return null;
}

function assignedAlert() {
  if (!crew || crew.state !== "assigned" || !crew.alert_id) return null;
  return alerts.get(crew.alert_id) || null;
}

// --- what is on screen ---------------------------------------------------------------------

function render() {
  if (!me) return;
  $("callsign").textContent = crew ? crew.callsign : me.username;
  renderOffer();
  const alert = assignedAlert();
  if (alert && outcomeOpen) {
    show("outcome");
  } else if (alert) {
    outcomeOpen = false;
    show("assignment");
    renderAssignment(alert);
  } else {
    outcomeOpen = false;
    show("duty");
    renderDuty();
  }
  $("stood-down").hidden = !stoodDown || Boolean(alert);
  $("stood-down-text").textContent = stoodDown || "";
  renderIncident(alert);
}

// EXERCISE, this crew's call for help, and the messages of the alert it is on.
function renderIncident(assigned) {
  const help = helpAlert();
  const incident = help || assigned;
  const offer = currentOffer();
  $("exercise-banner").hidden = !((offer && offer.exercise) || (incident && incident.exercise));
  const status = $("help-status");
  if (help) {
    const coming = (help.crews || []).length;
    status.textContent = `HELP CALLED: ${coming ? `${coming} crew${coming > 1 ? "s" : ""} on the way` : "finding crews"}`;
  } else if (helpPending() || helpProblem) {
    status.textContent = helpProblem ? `Help call: ${helpProblem}` : "HELP CALL SENDING\u2026";
  }
  status.hidden = !(help || helpPending() || helpProblem);
  const button = $("help-hold");
  button.hidden = !onDuty() || outcomeOpen;
  button.dataset.called = String(Boolean(help));
  renderMessages(outcomeOpen ? null : incident, me.crew_id);
}

// The alert this crew was on ended, or the crew was taken off it: it is told why.
function standDown(text) {
  stoodDown = text;
  fitted = false;
  vibrate(BUZZ_STOOD_DOWN);
}

function closeWords(alert) {
  const reason = alert.close_reason ? `: ${alert.close_reason}` : "";
  if (alert.closed_by === "officer") return "Stood down: cancelled by the officer";
  if (alert.closed_by === "supervisor") {
    return `Stood down: ${alert.state === "cancelled" ? "cancelled" : "closed"} by a supervisor${reason}`;
  }
  if (alert.closed_by === "crew") return "Stood down: resolved by another crew";
  return `Stood down: the alert was ${alert.state === "cancelled" ? "cancelled" : "closed"}`;
}

const isDuress = (x) => Boolean(x && (x.duress || (x.note || "").startsWith("DURESS")));

function renderDuty() {
  const state = crew ? crew.state : "off_duty";
  const words = { off_duty: "Off duty", available: "On duty", offered: "On duty", assigned: "Assigned" };
  $("crew-state").textContent = words[state] || state;
  $("crew-state").dataset.state = state;
  const toggle = $("duty-toggle");
  toggle.textContent = onDuty() ? "Go off duty" : "Go on duty";
  toggle.classList.toggle("duty-on", !onDuty());
  renderFix();
}

function renderFix() {
  if (!fix) return;
  $("fix").textContent = `${fix.lat.toFixed(5)}, ${fix.lon.toFixed(5)}`;
  $("fix-accuracy").textContent = `\u00B1${Math.round(fix.accuracy)} m`;
  $("fix-age").textContent = ago(Date.now() - Date.parse(fix.at));
}

function renderOffer() {
  const offer = currentOffer();
  const overlay = $("offer");
  if (!offer) {
    if (!overlay.hidden) stopAlarm();
    overlay.hidden = true;
    delete overlay.dataset.offerId;
    return;
  }
  if (overlay.dataset.offerId !== offer.id) {
    overlay.dataset.offerId = offer.id;
    $("offer-error").textContent = "";
    startAlarm();
  }
  overlay.hidden = false;
  $("offer-title").textContent = offer.help_crew_id ? "CREW NEEDS HELP" : offer.urgent ? "URGENT ALERT" : "ALERT";
  $("offer-exercise").hidden = !offer.exercise;
  $("offer-duress").hidden = !isDuress(offer);
  $("offer-distance").textContent =
    offer.distance_m >= 1000 ? `${(offer.distance_m / 1000).toFixed(1)} km` : `${Math.round(offer.distance_m)} m`;
  $("offer-eta").textContent = offer.eta_s >= 120 ? `${Math.round(offer.eta_s / 60)} min` : `${Math.round(offer.eta_s)} s`;
  $("offer-category").textContent = CATEGORY[offer.category] || "Not given";
  $("offer-note").textContent = offer.note || "-";
  const left = Math.max(0, Math.ceil((Date.parse(offer.deadline) - Date.now()) / 1000));
  $("offer-countdown").textContent = `${left} s`;
}

function renderAssignment(alert) {
  // A crew's call for help: the calling crew is where the officer would be.
  const called = alert.help_crew_id ? crewsAt.get(alert.help_crew_id) : undefined;
  const live = alert.help_crew_id ? called : officerAt.get(alert.id);
  const where = live || { lat: alert.lat, lon: alert.lon, accuracy: alert.accuracy, at: alert.raised_at };
  $("officer-age").textContent = live
    ? `${ago(Date.now() - Date.parse(live.at))} (\u00B1${Math.round(live.accuracy ?? 0)} m)`
    : `where raised, ${ago(Date.now() - Date.parse(alert.raised_at))}`;
  $("officer-line").textContent = officerLine(where, alert.help_crew_id ? "Crew in need" : "Officer");
  renderBeside(alert, crew && crew.id, crewsAt, (at) => officerLine(at, "").trim());
  $("assignment-duress").hidden = !isDuress(alert);
  const bits = [alert.urgent ? "URGENT" : null, CATEGORY[alert.category], alert.note].filter(Boolean);
  $("alert-summary").textContent = bits.join(" \u00B7 ") || "-";
  $("navigate").href = navigationLink(where.lat, where.lon);
  // Accepting is setting off: en route from the accept, then on scene, then resolved.
  const mine = (alert.crews || []).find((c) => c.crew_id === (crew && crew.id));
  const onScene = Boolean(mine && mine.status === "on_scene");
  $("assignment-step").textContent = onScene
    ? "On scene"
    : `En route${mine ? ` since ${clock(mine.accepted_at)}` : ""}`;
  $("assignment-step").dataset.step = onScene ? "on_scene" : "en_route";
  for (const button of document.querySelectorAll(".status-buttons button")) {
    button.setAttribute("aria-pressed", String(Boolean(mine && mine.status === button.dataset.status)));
  }
  drawMap(where, live !== undefined, alert);
}

// "Officer 420 m NE, 12 s ago": from this crew's fix to her latest, and how old hers is.
function officerLine(where, who = "Officer") {
  const age = ago(Date.now() - Date.parse(where.at));
  if (!fix) return `${who}: your position unknown; theirs ${age}`;
  const metres = distance(fix, where);
  const far = metres >= 1000 ? `${(metres / 1000).toFixed(1)} km` : `${metres < 100 ? Math.round(metres) : Math.round(metres / 10) * 10} m`;
  const direction = metres < 5 ? "here" : COMPASS[Math.round(bearing(fix, where) / 45) % 8];
  return `${who} ${far} ${direction}, ${age}`;
}

const rad = (deg) => (deg * Math.PI) / 180;

function distance(a, b) {
  const h = Math.sin(rad(b.lat - a.lat) / 2) ** 2
    + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lon - a.lon) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

function bearing(a, b) {
  const y = Math.sin(rad(b.lon - a.lon)) * Math.cos(rad(b.lat));
  const x = Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) - Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lon - a.lon));
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}

// A link that opens the phone's own maps app with directions to her.
function navigationLink(lat, lon) {
  const ua = navigator.userAgent;
  if (/iPhone|iPad|iPod/.test(ua)) return `https://maps.apple.com/?daddr=${lat},${lon}&dirflg=d`;
  if (/Android/.test(ua)) return `geo:${lat},${lon}?q=${lat},${lon}`;
  return `https://www.google.com/maps/dir/?api=1&destination=${lat},${lon}`;
}

// --- the map: works with no tiles at all (a drawn grid, a scale, the markers) --------------------

// "Follow": the map keeps her and the crew in view again (after the crew moved it by hand).
const FollowControl = L.Control.extend({
  options: { position: "topright" },
  onAdd() {
    const button = L.DomUtil.create("button", "follow");
    button.type = "button";
    button.id = "follow";
    L.DomEvent.disableClickPropagation(button);
    L.DomEvent.on(button, "click", () => {
      setFollowing(true);
      renderLive();
    });
    return button;
  },
});

function setFollowing(on) {
  following = on;
  const button = $("follow");
  if (!button) return;
  button.textContent = on ? "Following" : "Follow";
  button.setAttribute("aria-pressed", String(on));
}

function ensureMap() {
  if (map) return map;
  map = baseMap("map", CFG);
  map.crewMarker = L.circleMarker([0, 0], {
    radius: 10, color: "#fff", weight: 3, fillColor: "#0d47a1", fillOpacity: 1, className: "crew-marker",
  }).bindTooltip("You", { permanent: true, direction: "right", offset: [12, 0], className: "map-label crew-label" });
  map.officerRing = L.circle([0, 0], { radius: 1, color: "#c62828", weight: 1, fillOpacity: 0.1, interactive: false });
  map.officerMarker = L.circleMarker([0, 0], {
    radius: 12, color: "#fff", weight: 3, fillColor: "#c62828", fillOpacity: 1, className: "officer-marker",
  }).bindTooltip("Officer", { permanent: true, direction: "left", offset: [-14, 0], className: "map-label officer-label" });
  new FollowControl().addTo(map);
  setFollowing(true);
  // A crew that pans or zooms by hand keeps its view; "Follow" gives the auto-fit back.
  map.on("dragstart", () => setFollowing(false));
  map.on("zoomstart", () => {
    if (!moving) setFollowing(false);
  });
  map.on("zoomend", () => spreadLabels(map));
  return map;
}

function drawMap(officer, live, alert) {
  const m = ensureMap();
  m.officerMarker.setTooltipContent(alert && alert.help_crew_id ? "Crew in need" : "Officer");
  drawBeside(m, alert);
  moving = true;
  try {
    m.invalidateSize();
    const points = [[officer.lat, officer.lon]];
    m.officerMarker.setLatLng(points[0]).addTo(m);
    m.officerMarker.getElement()?.setAttribute("data-live", String(live));
    m.officerRing.setLatLng(points[0]).setRadius(Math.max(1, officer.accuracy || 1)).addTo(m);
    if (fix) {
      m.crewMarker.setLatLng([fix.lat, fix.lon]).addTo(m);
      points.push([fix.lat, fix.lon]);
    }
    if (!fitted) setFollowing(true); // a new assignment starts by following
    fitted = true;
    if (following) {
      if (points.length > 1) m.fitBounds(points, { padding: [60, 60], maxZoom: 17, animate: false });
      else m.setView(points[0], 16, { animate: false });
    }
  } finally {
    moving = false;
  }
  spreadLabels(m);
}

// The other crews on this alert, as small markers with their callsigns.
function drawBeside(m, alert) {
  m.beside = m.beside || new Map();
  const wanted = new Map();
  for (const c of (alert && alert.crews) || []) {
    const at = crewsAt.get(c.crew_id);
    if (c.crew_id !== (crew && crew.id) && at && at.alert_id === alert.id) wanted.set(c.crew_id, [at, c.callsign]);
  }
  for (const [id, marker] of m.beside) {
    if (!wanted.has(id)) {
      marker.remove();
      m.beside.delete(id);
    }
  }
  for (const [id, [at, callsign]] of wanted) {
    let marker = m.beside.get(id);
    if (!marker) {
      marker = L.circleMarker([at.lat, at.lon], {
        radius: 8, color: "#fff", weight: 2, fillColor: "#1565c0", fillOpacity: 0.9, className: "crew-beside-marker",
      }).bindTooltip(callsign, { permanent: true, direction: "right", offset: [10, 0], className: "map-label crew-beside-label" });
      marker.addTo(m);
      m.beside.set(id, marker);
    }
    marker.setLatLng([at.lat, at.lon]);
  }
}

// --- sound and vibration for an offer ------------------------------------------------------------

function unlockAudio() {
  try {
    audio = audio || new AudioContext();
    audio.resume();
  } catch {
    audio = null;
  }
}

let alarmTimer = null;
function startAlarm() {
  stopAlarm();
  const ring = () => {
    vibrate([400, 200, 400]);
    if (!audio) return;
    try {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.3;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
    } catch {
      /* no sound on this device */
    }
  };
  ring();
  alarmTimer = setInterval(ring, 1500);
}

function stopAlarm() {
  clearInterval(alarmTimer);
  alarmTimer = null;
  vibrate(0);
}

// --- frames from the server ------------------------------------------------------------------

function receive(frame) {
  switch (frame.type) {
    case "snapshot":
      crew = frame.crews.find((c) => c.id === me.crew_id) || crew;
      offers.clear();
      for (const offer of frame.offers) offers.set(offer.id, offer);
      alerts.clear();
      for (const alert of frame.alerts) alerts.set(alert.id, alert);
      for (const p of frame.positions) if (p.role === "officer" && p.alert_id) officerAt.set(p.alert_id, p);
      for (const p of frame.positions) if (p.role === "crew") crewsAt.set(p.subject_id, p);
      snapshotMessages(frame.messages);
      break;
    case "message":
      keepMessage(frame.message);
      if (frame.message.crew_id !== me.crew_id) vibrate([80]);
      break;
    case "crew":
      if (frame.crew.id === me.crew_id) crew = frame.crew;
      break;
    case "offer":
      if (frame.offer.state === "offered") {
        offers.set(frame.offer.id, frame.offer);
        stoodDown = null;
      } else {
        if (frame.offer.state === "withdrawn" && offers.has(frame.offer.id)) standDown("Stood down: the offer was withdrawn");
        offers.delete(frame.offer.id);
      }
      break;
    case "alert": {
      const view = frame.alert;
      if (["resolved", "cancelled"].includes(view.state)) {
        const ours = (view.crews || []).some((c) => c.crew_id === me.crew_id);
        if (ours && alerts.has(view.id) && resolving !== view.id) standDown(closeWords(view));
        alerts.delete(view.id);
        messages.delete(view.id);
      } else {
        if (!alerts.has(view.id)) stoodDown = null;
        alerts.set(view.id, view);
      }
      break;
    }
    case "alert.removed":
      // Taken off an alert it was on: a supervisor released this crew.
      if (alerts.has(frame.alert_id)) standDown("Stood down by a supervisor");
      alerts.delete(frame.alert_id);
      messages.delete(frame.alert_id);
      break;
    case "position":
      if (frame.role === "officer" && frame.alert_id) officerAt.set(frame.alert_id, frame);
      if (frame.role === "crew") crewsAt.set(frame.subject_id, frame);
      return renderLive();
    default:
      return;
  }
  if (!assignedAlert()) fitted = false;
  render();
}

function renderLive() {
  const alert = assignedAlert();
  if (alert && !outcomeOpen) renderAssignment(alert);
}

// --- what the crew does ----------------------------------------------------------------------

async function setDuty() {
  unlockAudio();
  $("duty-error").textContent = "";
  const want = !onDuty();
  let answer;
  try {
    answer = await link.request("duty", { on: want });
  } catch {
    $("duty-error").textContent = "No connection: try again in a moment.";
    return;
  }
  if (answer.type === "error") {
    $("duty-error").textContent = answer.message;
    return;
  }
  if (crew) crew = { ...crew, state: answer.result.state };
  if (want) sendFix(true);
  render();
}

async function answerOffer(kind) {
  const offer = currentOffer();
  if (!offer) return;
  unlockAudio();
  let answer;
  try {
    answer = await link.request(kind, { offer_id: offer.id });
  } catch {
    $("offer-error").textContent = "No connection: try again.";
    return;
  }
  if (answer.type === "error") {
    $("offer-error").textContent = answer.message;
    return;
  }
  offers.delete(offer.id);
  render();
}

async function setStatus(status, extra = {}) {
  const alert = assignedAlert();
  if (!alert) return null;
  let answer;
  try {
    answer = await link.request("assignment.status", { alert_id: alert.id, status, ...extra });
  } catch {
    return "No connection: try again.";
  }
  return answer.type === "error" ? answer.message : null;
}

// --- position ----------------------------------------------------------------------------

function sendFix(force = false) {
  if (!fix || !onDuty() || !link.isOpen()) return;
  if (!force && Date.now() - fixSentAt < 1000) return;
  fixSentAt = Date.now();
  link.request("position", { position: fix }).catch(() => {});
}

function watchPosition() {
  if (!navigator.geolocation) return;
  const got = (position) => {
    fix = fixOf(position);
    sendFix();
    renderFix();
    renderLive();
  };
  navigator.geolocation.watchPosition(got, () => {}, { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 });
  // A phone standing still gets no new fixes from the watch: ask for a fresh one now and then.
  setInterval(() => {
    if (onDuty()) navigator.geolocation.getCurrentPosition(
      (position) => { got(position); sendFix(true); },
      () => {},
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 },
    );
  }, 15000);
}

// --- start ---------------------------------------------------------------------------------

function setup() {
  setupMessages(CFG, link);
  setupHelp(CFG, link, { position: () => fix, onCalled: helpCalled });
  $("duty-toggle").addEventListener("click", setDuty);
  $("offer-accept").addEventListener("click", () => answerOffer("offer.accept"));
  $("offer-decline").addEventListener("click", () => answerOffer("offer.decline"));
  for (const button of document.querySelectorAll(".status-buttons button")) {
    button.addEventListener("click", async () => {
      $("assignment-error").textContent = "";
      if (button.dataset.status === "resolved") {
        outcomeOpen = true;
        $("outcome-error").textContent = "";
        render();
        return;
      }
      const problem = await setStatus(button.dataset.status);
      if (problem) $("assignment-error").textContent = problem;
    });
  }
  $("stood-down-ok").addEventListener("click", () => {
    stoodDown = null;
    render();
  });
  $("outcome-back").addEventListener("click", () => {
    outcomeOpen = false;
    render();
  });
  $("outcome-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = document.querySelector('input[name="outcome"]:checked');
    const note = $("outcome-note").value.trim();
    const extra = { outcome: chosen.value };
    if (note) extra.note = note;
    resolving = assignedAlert()?.id ?? null;
    const problem = await setStatus("resolved", extra);
    if (problem) {
      resolving = null;
      $("outcome-error").textContent = problem;
      return;
    }
    outcomeOpen = false;
    $("outcome-form").reset();
    render();
  });
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    unlockAudio();
    const result = await signIn($("username").value.trim(), $("password").value);
    if (!result.ok) {
      $("signin-error").textContent = result.message;
      return;
    }
    $("password").value = "";
    await start();
  });
  setInterval(() => {
    renderOffer();
    renderFix();
    renderLive();
  }, 500);
}

async function checkSignedIn() {
  const who = await whoAmI();
  if (who.state === "out") showSignIn();
}

async function start() {
  const who = await whoAmI();
  if (who.state !== "in") return showSignIn(who.state === "out" ? "" : "No connection.");
  if (who.me.role !== "crew" || !who.me.crew_id) return showSignIn("This page is for crews.");
  me = who.me;
  render();
  watchPosition();
  link.start();
}

setup();
start();
