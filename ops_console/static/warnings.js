// Welfare warnings on the board: a missed check-in (with the alert the system raised for
// her once the second grace passed) and silent phones (an officer on a live deployment, a
// crew on an assignment). Each shows the name, since when, and the last known position and
// its age, on the list and on the map. They clear by themselves when she checks in, the
// phone is heard again, or the watch ends; there is nothing to acknowledge.

import { ago, clear, el, hhmm } from "./common.js";

const KIND_TEXT = { checkin_missed: "CHECK-IN MISSED", silent: "SILENT PHONE" };

export function warningsPanel() {
  return el(
    "div",
    { class: "warnings-box" },
    el("h2", {}, "Welfare ", el("span", { id: "warnings-count", class: "muted" })),
    el("div", { id: "warnings", class: "warnings", "data-testid": "warnings" }),
  );
}

function sorted(store) {
  return [...(store.warnings || new Map()).values()].sort((a, b) => a.raised_at.localeCompare(b.raised_at));
}

function whoText(w) {
  return w.role === "crew" ? `crew ${w.name}` : w.name;
}

function sinceText(w) {
  const age = ago(Date.now() - Date.parse(w.since));
  return w.kind === "checkin_missed" ? `due ${hhmm(w.since)} (${age} ago)` : `silent for ${age}`;
}

function positionText(w) {
  if (w.lat === null || w.position_at === null) return "no known position";
  return `last position ${ago(Date.now() - Date.parse(w.position_at))} old`;
}

// Redrawn with the board (every second: the ages move on). `onAlert(id)` selects an alert.
export function renderWarnings(ctx, map, layer, onAlert) {
  const list = sorted(ctx.store);
  const box = document.getElementById("warnings");
  if (!box) return;
  document.getElementById("warnings-count").textContent = list.length ? `(${list.length})` : "";
  clear(
    box,
    list.length
      ? list.map((w) =>
          el(
            "div",
            { class: `warning-card kind-${w.kind}`, dataset: { warning: w.id, kind: w.kind } },
            el(
              "div",
              { class: "row" },
              el("span", { class: "pill warn" }, KIND_TEXT[w.kind] || w.kind),
              el("strong", {}, whoText(w)),
            ),
            el("div", { class: "row muted" }, `${sinceText(w)} · ${positionText(w)}`),
            w.alert_id
              ? el(
                  "button",
                  { type: "button", class: "link", onclick: () => onAlert(w.alert_id) },
                  w.kind === "checkin_missed" ? "Alert raised by the system: show" : "Its alert: show",
                )
              : null,
            w.lat !== null
              ? el("button", { type: "button", class: "link", onclick: () => map.panTo([w.lat, w.lon]) }, "On the map")
              : null,
          ),
        )
      : [],
  );
  layer.clearLayers();
  for (const w of list) {
    if (w.lat === null) continue;
    L.circleMarker([w.lat, w.lon], {
      radius: 11, color: "#e65100", weight: 3, fillColor: "#ffb74d", fillOpacity: 0.6, className: "warning-dot",
    })
      .bindTooltip(`${KIND_TEXT[w.kind] || w.kind}: ${whoText(w)} · ${positionText(w)}`, {
        permanent: true, direction: "bottom", offset: [0, 10], className: "map-label warning",
      })
      .addTo(layer);
  }
}

// The queue card's line for an alert the system raised on her behalf.
export function originLine(alert) {
  if (!alert.origin || alert.origin === "officer" || alert.origin === "crew_help") return null;
  const why = alert.origin === "checkin" ? "missed check-in" : "escort timer ran out";
  return el("div", { class: "row origin", dataset: { testid: "origin" } }, `Raised by the system: ${why}`);
}
