// The live board: the alert queue, the map of officers, crews and alerts, the crews and
// their position ages, and the supervisor's hands on an alert (take, assign by hand,
// withdraw or release, close, cancel, note). Everything comes from the live store.

import { spreadLabels } from "/pages/static/basemap.js";
import { ago, askReason, clear, el, hhmm, isOpenAlert, makeMap, seconds } from "./common.js";
import { forgetExcept, nearText } from "./places_near.js";
import { incidentPanel, renderIncidentPanel } from "./incident_messages.js";
import { originLine, renderWarnings, warningsPanel } from "./warnings.js";

const OUTCOMES = [
  ["arrest", "Arrest"],
  ["words_of_advice", "Words of advice"],
  ["offender_not_found", "Offender not found"],
  ["false_alarm", "False alarm"],
  ["other", "Other"],
];
const CREW_COLOURS = { available: "#2e7d32", offered: "#ef6c00", assigned: "#0d47a1", off_duty: "#90a4ae" };
const STALE_MS = 60_000;

let ctx;
let map;
let layers;
let selected = null;
let names = new Map(); // user id -> display name
let fitted = false;
const $ = (id) => document.getElementById(id);

export function mount(c) {
  ctx = c;
  clear(
    ctx.root,
    el(
      "div",
      { class: "board" },
      el(
        "div",
        { class: "board-side" },
        warningsPanel(),
        el("h2", {}, "Alerts ", el("span", { id: "queue-count", class: "muted" })),
        el("div", { id: "queue", class: "queue", "data-testid": "queue" }),
        el("div", { id: "detail", class: "panel detail", hidden: true }),
        incidentPanel(),
      ),
      el(
        "div",
        { class: "board-map" },
        el("div", { id: "board-map", "aria-label": "Live map" }),
        el(
          "div",
          { class: "legend" },
          el("span", { class: "key officer" }, "officer"),
          el("span", { class: "key alert" }, "alert"),
          ...Object.entries(CREW_COLOURS).filter(([s]) => s !== "off_duty").map(([s, colour]) =>
            el("span", { class: "key", style: `--key:${colour}` }, `crew ${s}`),
          ),
        ),
      ),
      el(
        "div",
        { class: "board-crews" },
        el("h2", {}, "Crews"),
        el("table", { class: "grid", id: "crews" }),
        el("h2", {}, "Live deployments"),
        el("div", { id: "live-deployments", class: "muted" }, "None."),
      ),
    ),
  );
  map = makeMap($("board-map"));
  map.on("zoomend", () => spreadLabels(map));
  layers = {
    places: L.layerGroup().addTo(map),
    alerts: L.layerGroup().addTo(map),
    crews: L.layerGroup().addTo(map),
    officers: L.layerGroup().addTo(map),
    warnings: L.layerGroup().addTo(map),
  };
  ctx.on(() => render());
  loadNames();
  setInterval(() => render(true), 1000); // ages and countdowns move on by themselves
  render();
}

export function show(alertId) {
  if (alertId) selected = alertId;
  setTimeout(() => map.invalidateSize(), 0);
  render();
}

async function loadNames() {
  try {
    const people = await ctx.api("GET", "/api/console/people");
    names = new Map(people.users.map((u) => [u.id, u.display_name || u.username]));
    render();
  } catch {
    /* names are a nicety: ids are shown meanwhile */
  }
}

const nameOf = (userId) => names.get(userId) || `officer ${userId.slice(0, 6)}`;
const crewOf = (crewId) => ctx.store.crews.get(crewId);

function queueOrder(a, b) {
  const rank = (x) => (ctx.needsTaking(x) ? 0 : x.state === "unassigned" ? 1 : x.urgent ? 2 : 3);
  return rank(a) - rank(b) || a.raised_at.localeCompare(b.raised_at);
}

function offersOf(alertId) {
  return [...ctx.store.offers.values()].filter((o) => o.alert_id === alertId);
}

function etaText(alert) {
  const moving = alert.crews.filter((c) => c.status === "en_route");
  // A crew assigned by hand without a known position has no ETA (it is stored as 0).
  if (moving.length && moving.every((c) => c.eta_s <= 0)) return "ETA not known";
  if (moving.length) {
    const left = Math.min(...moving.filter((c) => c.eta_s > 0).map((c) => c.eta_s - (Date.now() - Date.parse(c.accepted_at)) / 1000));
    return left > 0 ? `ETA ${seconds(left)}` : "due now";
  }
  const offers = offersOf(alert.id);
  if (offers.length) return `offered, ETA ${seconds(Math.min(...offers.map((o) => o.eta_s)))}`;
  return "";
}

// --- rendering --------------------------------------------------------------------------------

function render(tick = false) {
  if (!map) return;
  const alerts = [...ctx.store.alerts.values()].filter(isOpenAlert).sort(queueOrder);
  renderQueue(alerts);
  // The detail holds the supervisor's choices: redrawn on changes only, never under her hand.
  const busy = document.activeElement?.closest?.("#detail") && document.activeElement.tagName === "SELECT";
  if (!tick && !busy) renderDetail();
  renderCrews();
  renderMap(alerts);
  renderDeployments();
  const chosen = selected && ctx.store.alerts.get(selected);
  renderIncidentPanel(ctx, chosen && isOpenAlert(chosen) ? chosen : null); // messages, drills
  renderWarnings(ctx, map, layers.warnings, (alertId) => show(alertId));
}

function renderQueue(alerts) {
  $("queue-count").textContent = `(${alerts.length} open)`;
  forgetExcept(new Set(alerts.map((a) => a.id)));
  if (!alerts.length) {
    clear($("queue"), el("p", { class: "muted" }, "No open alerts."));
    return;
  }
  // A card is kept while it shows the same: a click (button down, then up) on a card
  // replaced in between by a redraw (every second, and on every change) would be lost.
  // What moves by itself (its age, the ETA's countdown) is written into it in place.
  const queue = $("queue");
  const kept = new Map([...queue.querySelectorAll(".alert-card")].map((c) => [c.dataset.alert, c]));
  const cards = alerts.map((a) => {
    const fresh = alertCard(a);
    const old = kept.get(a.id);
    if (!old || looks.get(old) !== looks.get(fresh)) return fresh;
    old.className = fresh.className;
    for (const moving of MOVING) {
      const [from, to] = [fresh.querySelector(moving), old.querySelector(moving)];
      if (from && to) {
        to.textContent = from.textContent;
        to.title = from.title;
      }
    }
    return old;
  });
  const order = [...queue.children];
  if (cards.length !== order.length || cards.some((c, i) => order[i] !== c)) queue.replaceChildren(...cards);
}

const MOVING = [".age", ".eta"];
const looks = new WeakMap(); // card -> what it shows (`lookOf`)

// What a card shows, but for what moves by itself: a redraw that changes none of it
// keeps the card.
function lookOf(card) {
  const copy = card.cloneNode(true);
  for (const moving of copy.querySelectorAll(MOVING.join(","))) {
    moving.textContent = "";
    moving.title = "";
  }
  return copy.innerHTML;
}

function alertCard(a) {
  const crews = a.crews.filter((c) => c.status !== "cleared").map((c) => c.callsign);
  const eta = etaText(a);
  const card = el(
    "button",
    {
      type: "button",
      class: `alert-card${ctx.needsTaking(a) ? " needs" : ""}${a.duress ? " duress-card" : ""}${a.id === selected ? " selected" : ""}`,
      dataset: { alert: a.id, state: a.state },
      onclick: () => {
        selected = a.id;
        render();
        const now = ctx.store.alerts.get(a.id) || a; // the card may be older than the alert
        if (now.lat !== null) map.panTo([now.lat, now.lon]);
      },
    },
    a.duress ? el("div", { class: "duress", title: "She 'cancelled' with her duress PIN" }, "DURESS") : null,
    el(
      "div",
      { class: "row" },
      el("span", { class: `pill state-${a.state}` }, a.state.replace("_", " ")),
      a.urgent ? el("span", { class: "pill urgent" }, "URGENT") : null,
      a.exercise ? el("span", { class: "pill exercise" }, "EXERCISE") : null,
      a.help_crew_id ? el("span", { class: "pill crew-help" }, "CREW NEEDS HELP") : null,
      el("strong", {}, nameOf(a.officer_id)),
      el("span", { class: "spacer" }),
      el("span", { class: "age", title: pressTitle(a) }, ago(Date.now() - Date.parse(a.pressed_at || a.raised_at))),
    ),
    el(
      "div",
      { class: "row muted" },
      a.category ? a.category.replace("_", " ") : "no category",
      a.position_unknown ? " · position unknown" : "",
      crews.length ? ` · ${crews.join(", ")}` : " · no crew",
      eta ? [" · ", el("span", { class: "eta" }, eta)] : "",
      a.taken_by ? ` · taken by ${a.taken_by}` : "",
    ),
    originLine(a),
    a.note ? el("div", { class: "note" }, a.note) : null,
    nearLine(a),
  );
  looks.set(card, lookOf(card));
  return card;
}

// "near Castle Green, 120 m N": where she is now (or where she raised it), by name.
function nearLine(alert) {
  const officer = ctx.store.positions.get(`officer:${alert.officer_id}`);
  const at = officer ? officer : alert;
  const text = nearText(ctx.api, alert.id, at.lat, at.lon, () => render(true));
  return text ? el("div", { class: "row near", dataset: { testid: "near" } }, text) : null;
}

function renderDetail() {
  const box = $("detail");
  const alert = selected && ctx.store.alerts.get(selected);
  if (!alert || !isOpenAlert(alert)) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const offers = offersOf(alert.id);
  const attached = alert.crews.filter((c) => c.status !== "cleared");
  const officer = ctx.store.positions.get(`officer:${alert.officer_id}`);
  clear(
    box,
    el(
      "h2",
      {},
      alert.help_crew_id ? `Crew needs help: ${crewOf(alert.help_crew_id)?.callsign ?? nameOf(alert.officer_id)} ` : `Alert: ${nameOf(alert.officer_id)} `,
      alert.duress ? el("span", { class: "duress" }, "DURESS") : null,
      alert.exercise ? el("span", { class: "pill exercise", id: "detail-exercise" }, "EXERCISE") : null,
    ),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, "State"),
      el("dd", { id: "detail-state" }, alert.state.replace("_", " "), alert.urgent ? " (urgent)" : ""),
      el("dt", {}, "Pressed"),
      el("dd", { id: "detail-pressed" }, pressText(alert)),
      el("dt", {}, "Raised"),
      el("dd", {}, `${hhmm(alert.raised_at)} (${ago(Date.now() - Date.parse(alert.raised_at))} ago)`),
      el("dt", {}, "Where"),
      el("dd", { id: "detail-where" }, where(alert, officer)),
      el("dt", {}, "Her position"),
      el("dd", {}, officer ? `${ago(Date.now() - Date.parse(officer.at))} old, ±${Math.round(officer.accuracy ?? 0)} m` : alert.position_unknown ? "none yet" : "where raised"),
      el("dt", {}, "Crews needed"),
      el("dd", {}, String(alert.crews_needed)),
      el("dt", {}, "Taken by"),
      el("dd", { id: "detail-taken" }, alert.taken_by || "nobody yet"),
    ),
    alert.note ? el("p", { class: "note" }, alert.note) : null,
    el("h3", {}, "Crews"),
    attached.length || offers.length
      ? el(
          "ul",
          { class: "plain" },
          attached.map((c) =>
            el(
              "li",
              {},
              `${c.callsign}: ${c.status.replace("_", " ")} `,
              el("button", { type: "button", class: "small danger", onclick: () => release(alert, c) }, "Release"),
            ),
          ),
          offers.map((o) =>
            el(
              "li",
              {},
              `${crewOf(o.crew_id)?.callsign ?? "crew"}: offered, ${Math.max(0, Math.round((Date.parse(o.deadline) - Date.now()) / 1000))} s left `,
              el("button", { type: "button", class: "small danger", "data-testid": "withdraw", onclick: () => withdraw(o) }, "Withdraw"),
            ),
          ),
        )
      : el("p", { class: "muted" }, "No crew on it."),
    el(
      "div",
      { class: "row" },
      el("select", { id: "assign-crew", "aria-label": "Crew to assign" }, assignable(alert)),
      el("button", { type: "button", class: "primary", id: "assign", onclick: () => assign(alert) }, "Assign by hand"),
    ),
    el(
      "div",
      { class: "row actions" },
      alert.taken_by ? null : el("button", { type: "button", id: "take", class: "primary", onclick: () => act("alert.take", { alert_id: alert.id }) }, "Take"),
      el("button", { type: "button", id: "close-alert", onclick: () => closeAlert(alert) }, "Close…"),
      el("button", { type: "button", class: "danger", id: "cancel-alert", onclick: () => cancelAlert(alert) }, "Cancel…"),
      el("button", { type: "button", id: "note-alert", onclick: () => note(alert) }, "Note…"),
      el("button", { type: "button", id: "timeline", onclick: () => ctx.go("incidents", alert.id) }, "Timeline"),
    ),
  );
}

// When she pressed (her phone's clock, corrected by the server), and from there to the
// server hearing it, to the first offer and to the first crew accepting.
function pressText(alert) {
  if (!alert.pressed_at) return "not given by her phone";
  const from = Date.parse(alert.pressed_at);
  const offered = offersOf(alert.id).map((o) => Date.parse(o.created_at));
  const accepted = alert.crews.map((c) => Date.parse(c.accepted_at));
  const steps = [["received", Date.parse(alert.raised_at)], ["offer", Math.min(...offered)], ["accept", Math.min(...accepted)]]
    .filter(([, at]) => Number.isFinite(at))
    .map(([label, at]) => `${label} +${seconds(Math.max(0, (at - from) / 1000))}`);
  const clamped = alert.press_clamped ? " (her phone's clock was off: bounded)" : "";
  return `${clockTime(alert.pressed_at)}${clamped}: ${steps.join(", ")}`;
}

function pressTitle(alert) {
  const received = `received ${clockTime(alert.raised_at)}`;
  return alert.pressed_at ? `pressed ${clockTime(alert.pressed_at)}, ${received}` : received;
}

const clockTime = (iso) =>
  new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// Where she is, to read out on the radio: coordinates, and the nearest deployment place.
function where(alert, officer) {
  if (!officer && alert.lat === null) return "position unknown: no fix from her phone yet";
  const at = officer ? [officer.lat, officer.lon] : [alert.lat, alert.lon];
  const text = `${at[0].toFixed(5)}, ${at[1].toFixed(5)}`;
  let best = null;
  for (const d of ctx.store.deployments.values()) {
    const metres = map.distance(at, [d.place.lat, d.place.lon]);
    if (!best || metres < best.metres) best = { name: d.place.name, metres };
  }
  const placed = best ? `${text} (${Math.round(best.metres)} m from ${best.name})` : text;
  return !officer && alert.position_unknown ? `position unknown: her deployment's place, ${placed}` : placed;
}

// Crews a supervisor may assign: not working another alert, nearest first.
function assignable(alert) {
  const attached = new Set(alert.crews.filter((c) => c.status !== "cleared").map((c) => c.crew_id));
  const crews = [...ctx.store.crews.values()]
    .filter((c) => !attached.has(c.id) && c.state !== "assigned")
    .map((c) => {
      const p = ctx.store.positions.get(`crew:${c.id}`);
      const metres = p && alert.lat !== null ? map.distance([p.lat, p.lon], [alert.lat, alert.lon]) : null;
      return { c, metres, age: p ? Date.now() - Date.parse(p.at) : null };
    })
    .sort((x, y) => (x.metres ?? 1e12) - (y.metres ?? 1e12));
  const previous = $("assign-crew")?.value;
  return [
    el("option", { value: "" }, crews.length ? "Choose a crew…" : "No crew to assign"),
    ...crews.map(({ c, metres, age }) =>
      el(
        "option",
        { value: c.id, selected: c.id === previous },
        `${c.callsign} (${c.mode}, ${c.state.replace("_", " ")}${metres !== null ? `, ${(metres / 1000).toFixed(1)} km, fix ${ago(age)} old` : ", no position"})`,
      ),
    ),
  ];
}

function renderCrews() {
  const rows = [...ctx.store.crews.values()].sort((a, b) => a.callsign.localeCompare(b.callsign));
  clear(
    $("crews"),
    el("tr", {}, el("th", {}, "Crew"), el("th", {}, "State"), el("th", { class: "num" }, "Position age")),
    rows.map((c) => {
      const p = ctx.store.positions.get(`crew:${c.id}`);
      const age = p ? Date.now() - Date.parse(p.at) : null;
      // Only a crew that can be offered alerts needs a fresh fix: off duty, age is no alarm.
      const stale = age !== null && age > STALE_MS && c.state !== "off_duty";
      return el(
        "tr",
        { dataset: { crew: c.callsign } },
        el("td", {}, `${c.callsign} `, el("span", { class: "muted" }, c.mode)),
        el("td", {}, el("span", { class: `pill state-${c.state}` }, c.state.replace("_", " "))),
        el("td", { class: `num${stale ? " stale" : ""}` }, age === null ? "none" : ago(age)),
      );
    }),
  );
}

function renderMap(alerts) {
  layers.places.clearLayers();
  for (const d of ctx.store.deployments.values()) {
    const p = d.place;
    const style = { color: "#6a1b9a", weight: 2, dashArray: "6 4", fillOpacity: d.state === "live" ? 0.08 : 0.02 };
    const shape = p.route ? L.polyline(p.route, style) : L.circle([p.lat, p.lon], { ...style, radius: p.radius_m || 150 });
    shape
      .bindTooltip(`${p.name}: ${d.state} until ${hhmm(d.ends_at)}`, { permanent: true, direction: "top", className: "map-label place" })
      .addTo(layers.places);
  }
  layers.alerts.clearLayers();
  layers.crews.clearLayers();
  layers.officers.clearLayers();
  const points = [];
  for (const a of alerts) {
    if (a.lat === null) continue; // position unknown, and no place: nowhere to draw it
    points.push([a.lat, a.lon]);
    L.circle([a.lat, a.lon], { radius: 60, color: "#b71c1c", weight: 2, fillOpacity: 0.15, className: "alert-ring" })
      .bindTooltip(`${nameOf(a.officer_id)}: ${a.state.replace("_", " ")}`)
      .on("click", () => {
        selected = a.id;
        render();
      })
      .addTo(layers.alerts);
  }
  for (const [key, p] of ctx.store.positions) {
    const age = Date.now() - Date.parse(p.at);
    if (key.startsWith("crew:")) {
      const crew = crewOf(p.subject_id);
      if (!crew || crew.state === "off_duty") continue;
      L.circleMarker([p.lat, p.lon], {
        radius: 8, color: "#fff", weight: 2, fillColor: CREW_COLOURS[crew.state] || "#555",
        fillOpacity: age > STALE_MS ? 0.4 : 1, className: "crew-dot",
      })
        .bindTooltip(`${crew.callsign} · ${ago(age)}`, { permanent: true, direction: "right", offset: [9, 0], className: "map-label" })
        .addTo(layers.crews);
    } else {
      points.push([p.lat, p.lon]);
      L.circleMarker([p.lat, p.lon], {
        radius: 7, color: "#fff", weight: 2, fillColor: p.alert_id ? "#b71c1c" : "#6a1b9a", fillOpacity: 1,
        className: "officer-dot",
      })
        .bindTooltip(`${nameOf(p.subject_id)} · ${ago(age)}`, { permanent: true, direction: "left", offset: [-9, 0], className: "map-label officer" })
        .addTo(layers.officers);
    }
  }
  if (!fitted && ctx.store.synced) {
    const all = [
      ...points,
      ...[...ctx.store.positions.values()].map((p) => [p.lat, p.lon]),
      ...[...ctx.store.deployments.values()].map((d) => [d.place.lat, d.place.lon]),
    ];
    if (all.length) {
      map.fitBounds(L.latLngBounds(all).pad(0.3), { maxZoom: 15 });
      fitted = true;
    }
  }
  spreadLabels(map);
}

function renderDeployments() {
  const live = [...ctx.store.deployments.values()].filter((d) => d.state === "live");
  const box = $("live-deployments");
  if (!live.length) {
    clear(box, "None.");
    return;
  }
  clear(
    box,
    el(
      "ul",
      { class: "plain" },
      live.map((d) => el("li", {}, `${d.operation}: ${d.place.name} until ${hhmm(d.ends_at)} (${d.officers.join(", ")}; ${d.crews.join(", ")})`)),
    ),
  );
}

// --- actions ----------------------------------------------------------------------------------

async function act(type, body) {
  let answer;
  try {
    answer = await ctx.link.request(type, body);
  } catch {
    ctx.toast("Not connected: nothing was done. Try again when the link is live.", "error");
    return false;
  }
  if (answer.type === "error") {
    ctx.toast(answer.message, "error");
    return false;
  }
  return true;
}

async function assign(alert) {
  const crewId = $("assign-crew").value;
  if (!crewId) {
    ctx.toast("Choose a crew to assign.", "error");
    return;
  }
  const reason = await askReason(`Assign ${crewOf(crewId)?.callsign ?? "crew"} by hand`);
  if (reason === null) return;
  if (await act("alert.assign", { alert_id: alert.id, crew_id: crewId, reason })) {
    ctx.toast(`${crewOf(crewId)?.callsign ?? "Crew"} assigned.`, "ok");
  }
}

async function withdraw(offer) {
  const reason = await askReason(`Withdraw the offer to ${crewOf(offer.crew_id)?.callsign ?? "crew"}`);
  if (reason !== null) await act("offer.withdraw", { offer_id: offer.id, reason });
}

async function release(alert, crew) {
  const reason = await askReason(`Release ${crew.callsign} from this alert`);
  if (reason !== null) await act("offer.withdraw", { offer_id: crew.offer_id, reason });
}

// Close an alert handled by radio, from any open state: the outcome and the reason in one
// dialog. Open offers are withdrawn and crews freed by the server. The dialog stays open
// with the server's answer if it refuses, so nothing typed is lost.
function closeAlert(alert) {
  const offers = offersOf(alert.id);
  const attached = alert.crews.filter((c) => c.status !== "cleared");
  const effects = [
    attached.length ? `${attached.map((c) => c.callsign).join(", ")} will be freed.` : "No crew is on it.",
    offers.length ? `${offers.length === 1 ? "The open offer" : `${offers.length} open offers`} will be withdrawn.` : "",
  ].join(" ");
  const outcome = el(
    "select",
    { id: "close-outcome" },
    el("option", { value: "" }, "Choose the outcome"),
    OUTCOMES.map(([v, t]) => el("option", { value: v }, t)),
  );
  const reason = el("textarea", { id: "close-reason", rows: 3, maxlength: 500, placeholder: "Reason (kept on the record)" });
  const problem = el("p", { class: "problem", role: "alert" });
  const ok = el("button", { type: "submit", class: "primary", id: "close-ok" }, "Close alert");
  for (const input of [outcome, reason]) input.addEventListener("input", () => (problem.textContent = ""));
  const done = () => {
    dialog.close();
    dialog.remove();
  };
  const submit = async (e) => {
    e.preventDefault();
    const text = reason.value.trim();
    if (!outcome.value || !text) {
      problem.textContent = !outcome.value ? "Choose the outcome." : "A reason is needed: it is kept with the alert.";
      return;
    }
    ok.disabled = true;
    problem.textContent = "";
    let answer;
    try {
      answer = await ctx.link.request("alert.close", { alert_id: alert.id, outcome: outcome.value, reason: text });
    } catch {
      answer = { type: "error", message: "Not connected: nothing was done. Try again when the link is live." };
    }
    ok.disabled = false;
    if (answer.type === "error") {
      problem.textContent = answer.message;
      return;
    }
    done();
    ctx.toast("Alert closed.", "ok");
  };
  const dialog = el(
    "dialog",
    { class: "reason", id: "close-dialog" },
    el(
      "form",
      { method: "dialog", onsubmit: submit },
      el("h2", {}, "Close the alert (handled by radio)"),
      el("p", { class: "muted", id: "close-effects" }, `Now ${alert.state.replace("_", " ")}. ${effects}`),
      el("label", {}, "Outcome", outcome),
      el("label", {}, "Reason", reason),
      problem,
      el(
        "div",
        { class: "row" },
        el("button", { type: "button", onclick: done }, "Back"),
        ok,
      ),
    ),
  );
  document.body.append(dialog);
  dialog.showModal();
  outcome.focus();
}

async function cancelAlert(alert) {
  const reason = await askReason("Cancel the alert (false alarm)");
  if (reason !== null) await act("alert.cancel", { alert_id: alert.id, reason });
}

async function note(alert) {
  const text = await askReason("Add a note", { placeholder: "Note (kept on the record)" });
  if (text !== null && (await act("alert.note", { alert_id: alert.id, text }))) ctx.toast("Note kept.", "ok");
}
