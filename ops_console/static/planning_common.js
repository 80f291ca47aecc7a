// Planning: the small pieces every planning module uses: names for the ids the server sends,
// place colours, refusals, form fields and modal dialogs. Functions that need to look something
// up take the screen's shared state `s` (made in planning.js).

import { el } from "./common.js";

export const OPS = "/api/operations";
const COLOURS = [
  "#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f",
  "#ad1457", "#4e342e", "#9e9d24", "#37474f", "#283593", "#00695c",
];

// The deployments of a plan that still count: all but the cancelled ones.
export const live = (plan) => (plan ? plan.deployments.filter((d) => d.state !== "cancelled") : []);

// The server's sentences name people, crews and places by id: show their names instead.
export function named(s, message) {
  return message.replace(/\b[0-9a-f]{32}\b/g, (id) => {
    const user = s.people.users.find((u) => u.id === id);
    if (user) return user.display_name || user.username;
    const crew = s.people.crews.find((c) => c.id === id);
    if (crew) return crew.callsign;
    const place = s.op?.places.find((p) => p.id === id);
    return place ? place.name : id;
  });
}

export function refused(s, error, where) {
  const message = named(s, error.message || String(error));
  if (where) where.textContent = message;
  s.ctx.toast(message, "error");
}

export function placeColour(s, placeId) {
  const index = s.op ? s.op.places.findIndex((p) => p.id === placeId) : -1;
  return index < 0 ? "#78909c" : COLOURS[index % COLOURS.length];
}

export function personName(s, id) {
  const user = s.people.users.find((u) => u.id === id);
  return user ? user.display_name || user.username : id;
}

export function crewName(s, id) {
  const crew = s.people.crews.find((c) => c.id === id) || s.ctx.store.crews.get(id);
  return crew ? crew.callsign : id;
}

export function field(label, input, hint) {
  return el("label", {}, label, input, hint ? el("span", { class: "hint" }, hint) : null);
}

// A modal form: `onOk(problem)` runs on submit; it returns false to keep the dialog open.
export function dialog(id, title, body, okLabel, onOk) {
  const problem = el("p", { class: "problem", role: "alert", id: `${id}-problem` });
  const box = el("dialog", { class: "planning-dialog", id });
  const close = () => {
    box.close();
    box.remove();
  };
  box.append(
    el(
      "form",
      {
        method: "dialog",
        onsubmit: async (event) => {
          event.preventDefault();
          problem.textContent = "";
          const ok = box.querySelector(`#${id}-ok`);
          ok.disabled = true;
          try {
            if ((await onOk(problem)) !== false) close();
          } finally {
            ok.disabled = false;
          }
        },
      },
      el("h2", {}, title),
      body,
      problem,
      el(
        "div",
        { class: "row end" },
        el("button", { type: "button", id: `${id}-back`, onclick: close }, "Back"),
        el("button", { type: "submit", class: "primary", id: `${id}-ok` }, okLabel),
      ),
    ),
  );
  box.addEventListener("close", () => box.remove());
  document.body.append(box);
  box.showModal();
  box.querySelector("input, select")?.focus();
  return box;
}

export function confirmBox(title, text, okLabel) {
  return new Promise((resolve) => {
    const box = dialog("confirm", title, el("p", {}, text), okLabel, () => resolve(true));
    box.addEventListener("close", () => resolve(false));
  });
}
