// Planning: an operation's places: the map (a click adds a place to a draft), the place dialog,
// the places table, deleting a place and importing GeoJSON or CSV. The map shows each place's
// colour and, once there is a plan, how many deployments it has.

import { clear, el, makeMap } from "./common.js";
import { confirmBox, dialog, field, live, OPS, placeColour, refused } from "./planning_common.js";
import { placeSearch } from "./planning_search.js";

// Makes the Leaflet map in `node`: s.map and s.layers (the places drawn on it).
export function mountMap(s, node) {
  s.map = makeMap(node);
  node.planningMap = s.map; // for browser tests: where a place's lat/lon is on screen
  s.layers = L.layerGroup().addTo(s.map);
  s.map.on("click", (event) => {
    if (s.op && s.op.state === "draft") addPlaceAt(s, event.latlng);
  });
}

export function dropMap(s) {
  if (s.map) s.map.remove();
  s.map = null;
  s.layers = null;
}

function counts(s) {
  const out = new Map();
  for (const d of live(s.plan)) out.set(d.place_id, (out.get(d.place_id) || 0) + 1);
  return out;
}

export function renderPlaces(s) {
  const { op } = s;
  const draft = op.state === "draft";
  const n = counts(s);
  const rows = op.places.map((p) =>
    el("tr", { dataset: { placeId: p.id, testid: "place-row" } },
      el("td", {}, el("span", { class: "swatch", style: `background:${placeColour(s, p.id)}` })),
      el("td", { class: "place-name" }, p.name),
      el("td", { class: "num" }, p.risk),
      el("td", { class: "muted nowrap" }, p.route ? `route, ${p.route.length} points` : `${p.radius_m} m`),
      el("td", { class: "muted" }, p.hourly ? "by hour" : "-"),
      el("td", { class: "num place-count" }, s.plan ? n.get(p.id) || 0 : ""),
      el("td", {}, draft && el("button", { type: "button", class: "small danger", title: `Delete ${p.name}`,
        onclick: () => deletePlace(s, p) }, "Delete"))),
  );
  const file = el("input", { type: "file", id: "places-file", accept: ".csv,.geojson,.json,text/csv,application/geo+json",
    onchange: () => importFile(s, file) });
  clear(
    s.root.querySelector("#places-panel"),
    el("div", { class: "row" }, el("h2", {}, `Places (${op.places.length})`), el("span", { class: "spacer" }),
      placeSearch(s, (hit) => {
        s.map.setView([hit.lat, hit.lon], Math.max(s.map.getZoom(), 16));
        if (s.op.state === "draft") addPlaceAt(s, { lat: hit.lat, lng: hit.lon }, hit.name);
      }),
      draft && el("button", { type: "button", id: "place-add", onclick: () => addPlaceAt(s, null) }, "Add by coordinates…"),
      draft && el("label", { class: "file" }, "Import GeoJSON or CSV", file)),
    el("div", { class: "places-scroll" },
      el("table", { class: "grid", id: "places-table" },
        el("thead", {}, el("tr", {}, el("th", {}), el("th", {}, "Place"), el("th", { class: "num" }, "Risk"),
          el("th", {}, "Shape"), el("th", {}, "Hourly"), el("th", { class: "num", title: "Deployments in the plan" }, "Dep."), el("th", {}))),
        el("tbody", {}, rows.length ? rows
          : el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No places yet: click the map, type its coordinates or import a file."))))),
    draft && el("p", { class: "muted small" },
      "CSV: a header row with name, lat, lon, radius_m, risk (or route as \"lat lon; lat lon; …\"), " +
      "and optionally hourly (24 numbers) or h0…h23."),
  );
  s.root.querySelector("#map-hint").textContent = draft
    ? "Click the map to add a place."
    : "The operation is " + op.state + ": its places are fixed.";
}

export function renderMap(s, fit) {
  if (!s.map) return;
  s.layers.clearLayers();
  const n = counts(s);
  const bounds = [];
  const planned = Boolean(s.plan);
  for (const p of s.op.places) {
    const colour = placeColour(s, p.id);
    const count = n.get(p.id) || 0;
    const label = planned ? `${p.name}: ${count}` : `${p.name} (risk ${p.risk})`;
    const detail = `${p.name}: risk ${p.risk}${planned ? `, ${count} deployment${count === 1 ? "" : "s"}` : ""}`;
    if (p.route) {
      L.polyline(p.route, { color: colour, weight: 5, opacity: 0.8, bubblingMouseEvents: false }).bindTooltip(detail).addTo(s.layers);
      bounds.push(...p.route);
    } else {
      L.circle([p.lat, p.lon], { radius: p.radius_m || 150, color: colour, weight: 1, fillOpacity: 0.12, interactive: false })
        .addTo(s.layers);
      bounds.push([p.lat, p.lon]);
    }
    const size = planned ? 8 + 4 * Math.sqrt(count) : 8;
    L.circleMarker([p.lat, p.lon], {
      bubblingMouseEvents: false,
      radius: size, color: "#fff", weight: 2, fillColor: colour, fillOpacity: planned && !count ? 0.35 : 0.9,
      className: "place-marker",
    })
      .bindTooltip(label, { permanent: true, direction: "right", offset: [size, 0], className: "place-label" })
      .bindPopup(detail)
      .addTo(s.layers);
  }
  if (fit && bounds.length) s.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 16 });
}

// "52.0565, -2.716" (as copied from a map), "52.0565 -2.716" or "52.0565;-2.716": [lat, lon] or null.
export function parseLatLon(text) {
  const parts = text.trim().split(/\s*[,;\s]\s*/).filter(Boolean);
  if (parts.length !== 2) return null;
  const [lat, lon] = parts.map(Number);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return [lat, lon];
}

// The place dialog: from a click on the map (its coordinates filled in), or with none
// (typed or pasted as "lat, lon").
function addPlaceAt(s, latlng, name = "") {
  const at = latlng ? `${latlng.lat.toFixed(6)}, ${latlng.lng.toFixed(6)}` : "";
  const body = el("div", { class: "form-grid" },
    field("Where: lat, lon", el("input", { id: "place-where", required: true, value: at, placeholder: "52.0565, -2.7160" }),
      "type or paste the coordinates, e.g. from a map app"),
    field("Name", el("input", { id: "place-name", required: true, maxlength: 100, value: name })),
    field("Risk weight", el("input", { id: "place-risk", type: "number", value: 1, min: 0.01, max: 1000, step: "any", required: true })),
    field("Radius (m)", el("input", { id: "place-radius", type: "number", value: 150, min: 1, max: 5000, step: "any", required: true })),
    field("Hourly weights (optional)", el("input", { id: "place-hourly", size: 48,
      placeholder: "24 numbers, hour 0 to 23, e.g. 0 0 0 0 0 0 0 1 1 …" }),
    "where harassment is reported by hour; empty = the same every hour"),
  );
  dialog("place-dialog", "Add a place", body, "Add place", async (problem) => {
    const text = document.getElementById("place-hourly").value.trim();
    const where = parseLatLon(document.getElementById("place-where").value);
    if (!where) {
      problem.textContent = "Where: give the latitude and longitude, e.g. 52.0565, -2.7160.";
      return false;
    }
    const place = {
      name: document.getElementById("place-name").value.trim(),
      lat: where[0],
      lon: where[1],
      radius_m: Number(document.getElementById("place-radius").value),
      risk: Number(document.getElementById("place-risk").value),
    };
    if (text) {
      const hourly = text.split(/[\s;,]+/).filter(Boolean).map(Number);
      if (hourly.length !== 24 || hourly.some((w) => !Number.isFinite(w))) {
        problem.textContent = `Hourly weights: ${hourly.length} given; give 24 numbers, or none.`;
        return false;
      }
      place.hourly = hourly;
    }
    try {
      const op = await s.ctx.api("POST", `${OPS}/${s.op.id}/places`, { places: [place] });
      s.setPlan(op, s.plan);
      return true;
    } catch (error) {
      refused(s, error, problem);
      return false;
    }
  });
}

async function deletePlace(s, place) {
  if (!(await confirmBox("Delete place", `Delete "${place.name}" and its unpinned planned deployments?`, "Delete"))) return;
  try {
    const op = await s.ctx.api("DELETE", `${OPS}/${s.op.id}/places/${place.id}`);
    const plan = op.figures ? await s.ctx.api("GET", `${OPS}/${op.id}/plan`) : null;
    s.setPlan(op, plan);
  } catch (error) {
    refused(s, error);
  }
}

async function importFile(s, input) {
  const file = input.files[0];
  if (!file) return;
  const csv = /\.csv$/i.test(file.name) || file.type === "text/csv";
  const path = `${OPS}/${s.op.id}/places.${csv ? "csv" : "geojson"}`;
  const before = s.op.places.length;
  try {
    const blob = new Blob([await file.arrayBuffer()], { type: csv ? "text/csv" : "application/geo+json" });
    const op = await s.ctx.api("POST", path, blob);
    s.setPlan(op, s.plan);
    renderMap(s, true);
    s.ctx.toast(`${op.places.length - before} place(s) imported from ${file.name}.`, "ok");
  } catch (error) {
    refused(s, error);
  } finally {
    input.value = "";
  }
}
