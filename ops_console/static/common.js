// Helpers every console screen shares: the REST client, element building, times, the map.

import { baseMap } from "/pages/static/basemap.js";

export const CONFIG = JSON.parse(document.getElementById("config").textContent);

const OPEN_ALERT_STATES = new Set(["raised", "dispatching", "assigned", "on_scene", "unassigned"]);
export const isOpenAlert = (alert) => OPEN_ALERT_STATES.has(alert.state);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Call the REST API. Resolves with the parsed JSON (or text for other types); rejects with an
// ApiError carrying the server's stable code and sentence.
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body instanceof Blob || typeof body === "string") {
    init.body = body;
    init.headers["content-type"] = body.type || "text/plain";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "offline", "No connection to the server.");
  }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const code = (data && data.code) || "error";
    const message = (data && data.message) || `The server answered ${response.status}.`;
    if (response.status === 401) document.dispatchEvent(new CustomEvent("signed-out"));
    throw new ApiError(response.status, code, message);
  }
  return data;
}

// el("button", {class: "primary", onclick: fn}, "Text", child...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const pad = (n) => String(n).padStart(2, "0");

// Local (browser) time of an ISO instant: "18:05".
export function hhmm(iso) {
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// "Tue 24 Nov 18:05" in the given IANA zone (the operation's), or the browser's.
export function dayTime(iso, timeZone) {
  return new Date(iso).toLocaleString("en-GB", {
    timeZone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

// A date picked in the browser ("2026-07-01"), as the instant its local day starts, or
// the day `plusDays` later starts (UTC, ISO 8601: what the API takes); null for none.
export function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function seconds(s) {
  if (s === null || s === undefined) return "-";
  if (s < 90) return `${Math.round(s)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

// A Leaflet map in `node` (a drawn grid, tiles only when configured, a metric scale).
export function makeMap(node, center = [52.0565, -2.716], zoom = 14) {
  return baseMap(node, CONFIG).setView(center, zoom);
}

// Start a download of a server file (exports): the session cookie goes with it.
export function download(path) {
  const a = el("a", { href: path, download: "" });
  document.body.append(a);
  a.click();
  a.remove();
}

// Ask for a reason (kept with the action). Resolves with the text, or null if dismissed.
export function askReason(title, { required = true, placeholder = "Reason (kept on the record)" } = {}) {
  return new Promise((resolve) => {
    const input = el("textarea", { rows: 3, maxlength: 500, placeholder, id: "reason-text" });
    const problem = el("p", { class: "problem", role: "alert" });
    const done = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const dialog = el(
      "dialog",
      { class: "reason" },
      el(
        "form",
        {
          method: "dialog",
          onsubmit: (e) => {
            e.preventDefault();
            const text = input.value.trim();
            if (required && !text) {
              problem.textContent = "A reason is needed: it is kept with the action.";
              return;
            }
            done(text);
          },
        },
        el("h2", {}, title),
        input,
        problem,
        el(
          "div",
          { class: "row" },
          el("button", { type: "button", onclick: () => done(null) }, "Back"),
          el("button", { type: "submit", class: "primary", id: "reason-ok" }, "Confirm"),
        ),
      ),
    );
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
