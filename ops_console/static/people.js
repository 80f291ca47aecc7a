// People: accounts (add, disable or enable, reset a password, move a crew member to another
// crew) and crews (add, rename, change mode). A new or reset password is shown once, in a
// dialog with a copy button. Every refusal from the server is shown where it happened.

import { clear, el } from "./common.js";

const ROLES = [
  ["officer", "Officer"],
  ["crew", "Crew member"],
  ["supervisor", "Supervisor"],
];
const MODES = [
  ["car", "Car"],
  ["bike", "Bike"],
  ["foot", "Foot"],
];
const STATE_NAMES = { off_duty: "off duty", available: "available", offered: "offered", assigned: "assigned" };

let ctx;
let people = { users: [], crews: [] };
let filter = "";
const $ = (id) => document.getElementById(id);

export function mount(c) {
  ctx = c;
  clear(
    ctx.root,
    el(
      "div",
      { class: "people" },
      el(
        "div",
        { class: "people-forms" },
        userForm(),
        crewForm(),
      ),
      el(
        "div",
        { class: "people-tables" },
        el(
          "div",
          { class: "toolbar" },
          el("h2", {}, "Users ", el("span", { id: "people-count", class: "muted" })),
          el("span", { class: "spacer" }),
          el(
            "label",
            {},
            "Find",
            el("input", {
              id: "people-filter",
              type: "search",
              placeholder: "name, role or crew",
              oninput: (e) => {
                filter = e.target.value.trim().toLowerCase();
                renderUsers();
              },
            }),
          ),
        ),
        el("table", { class: "grid", id: "people-users", "data-testid": "people-users" }),
        el("h2", { class: "people-crews-title" }, "Crews"),
        el("table", { class: "grid", id: "people-crews", "data-testid": "people-crews" }),
      ),
    ),
  );
  ctx.on((kind) => {
    if (kind === "crew" || kind === "snapshot") renderCrews();
  });
}

export function show() {
  load();
}

async function load() {
  try {
    people = await ctx.api("GET", "/api/console/people");
  } catch (error) {
    ctx.toast(error.message, "error");
    return;
  }
  render();
}

// --- forms ------------------------------------------------------------------------------------

function options(pairs, selected) {
  return pairs.map(([value, text]) => el("option", { value, selected: value === selected }, text));
}

function crewOptions(selected) {
  return people.crews.map((c) => el("option", { value: c.id, selected: c.id === selected }, c.callsign));
}

function userForm() {
  const form = el(
    "form",
    {
      id: "add-user",
      class: "panel people-form",
      autocomplete: "off",
      onsubmit: addUser,
      oninput: () => { $("add-user-problem").textContent = ""; },
    },
    el("h2", {}, "Add user"),
    el("label", {}, "Username", el("input", { id: "new-username", required: true, maxlength: 64 })),
    el("label", {}, "Display name", el("input", { id: "new-display", maxlength: 100, placeholder: "optional" })),
    el("label", {}, "Role", el("select", { id: "new-role", onchange: roleChanged }, options(ROLES, "officer"))),
    el("label", { id: "new-crew-field", hidden: true }, "Crew", el("select", { id: "new-crew" })),
    el(
      "label",
      {},
      "Password",
      el("input", {
        id: "new-password",
        type: "password",
        autocomplete: "new-password",
        maxlength: 200,
        placeholder: "empty: one is generated",
      }),
    ),
    el(
      "fieldset",
      { id: "new-pins", class: "pins" },
      el("legend", {}, "PINs (optional, both or none)"),
      el(
        "div",
        { class: "row" },
        el("label", {}, "Cancel PIN", pinInput("new-cancel-pin")),
        el("label", {}, "Duress PIN", pinInput("new-duress-pin")),
      ),
    ),
    el("p", { id: "add-user-problem", class: "problem", role: "alert" }),
    el("button", { id: "add-user-submit", class: "primary", type: "submit" }, "Add user"),
  );
  return form;
}

function pinInput(id) {
  return el("input", { id, inputmode: "numeric", maxlength: 4, size: 5, autocomplete: "off", pattern: "[0-9]{4}" });
}

function roleChanged() {
  const role = $("new-role").value;
  $("new-crew-field").hidden = role !== "crew";
  $("new-pins").hidden = role !== "officer";
}

function crewForm() {
  return el(
    "form",
    {
      id: "add-crew",
      class: "panel people-form",
      autocomplete: "off",
      onsubmit: addCrew,
      oninput: () => { $("add-crew-problem").textContent = ""; },
    },
    el("h2", {}, "Add crew"),
    el("label", {}, "Callsign", el("input", { id: "new-callsign", required: true, maxlength: 32 })),
    el("label", {}, "Mode", el("select", { id: "new-mode" }, options(MODES, "car"))),
    el("p", { id: "add-crew-problem", class: "problem", role: "alert" }),
    el("button", { id: "add-crew-submit", class: "primary", type: "submit" }, "Add crew"),
  );
}

async function addUser(event) {
  event.preventDefault();
  const role = $("new-role").value;
  const body = { username: $("new-username").value.trim(), role };
  const display = $("new-display").value.trim();
  if (display) body.display_name = display;
  if ($("new-password").value) body.password = $("new-password").value;
  if (role === "crew") body.crew_id = $("new-crew").value || undefined;
  if (role === "officer") {
    const cancel = $("new-cancel-pin").value.trim();
    const duress = $("new-duress-pin").value.trim();
    if (cancel) body.cancel_pin = cancel;
    if (duress) body.duress_pin = duress;
  }
  $("add-user-problem").textContent = "";
  $("add-user-submit").disabled = true;
  try {
    const created = await ctx.api("POST", "/api/console/users", body);
    event.target.reset();
    roleChanged();
    ctx.toast(`Added ${created.user.username}.`, "ok");
    if (created.password) showPassword(created.user, created.password, "New account");
    await load();
  } catch (error) {
    $("add-user-problem").textContent = error.message;
  } finally {
    $("add-user-submit").disabled = false;
  }
}

async function addCrew(event) {
  event.preventDefault();
  const body = { callsign: $("new-callsign").value.trim(), mode: $("new-mode").value };
  $("add-crew-problem").textContent = "";
  $("add-crew-submit").disabled = true;
  try {
    const crew = await ctx.api("POST", "/api/console/crews", body);
    event.target.reset();
    ctx.toast(`Added crew ${crew.callsign}.`, "ok");
    await load();
  } catch (error) {
    $("add-crew-problem").textContent = error.message;
  } finally {
    $("add-crew-submit").disabled = false;
  }
}

// --- tables -----------------------------------------------------------------------------------

function render() {
  const crewSelect = $("new-crew");
  const chosen = crewSelect.value;
  clear(crewSelect, crewOptions(chosen));
  roleChanged();
  renderUsers();
  renderCrews();
}

const crewOf = (id) => people.crews.find((c) => c.id === id);
const userOf = (id) => people.users.find((u) => u.id === id);

function matches(user) {
  if (!filter) return true;
  const crew = crewOf(user.crew_id);
  return [user.username, user.display_name, user.role, crew?.callsign || ""]
    .some((text) => text.toLowerCase().includes(filter));
}

function renderUsers() {
  const shown = people.users.filter(matches);
  $("people-count").textContent = `${shown.length} of ${people.users.length}`;
  clear(
    $("people-users"),
    el(
      "thead",
      {},
      el("tr", {}, el("th", {}, "Name"), el("th", {}, "Username"), el("th", {}, "Role"),
        el("th", {}, "Crew"), el("th", {}, "State"), el("th", {}, "")),
    ),
    el("tbody", {}, shown.map(userRow)),
  );
}

function userRow(user) {
  const self = user.id === ctx.me.user_id;
  const states = [
    user.disabled
      ? el("span", { class: "pill state-cancelled" }, "disabled")
      : el("span", { class: "pill state-available" }, "active"),
    user.locked && el("span", { class: "pill urgent" }, "locked"),
    user.role === "officer" && !user.has_pins && el("span", { class: "pill state-offered" }, "no PINs"),
  ];
  return el(
    "tr",
    { dataset: { user: user.username }, class: user.disabled ? "disabled" : undefined },
    el("td", {}, user.display_name, self && el("span", { class: "muted" }, " (you)")),
    el("td", {}, el("code", {}, user.username)),
    el("td", {}, ROLES.find(([r]) => r === user.role)?.[1] || user.role),
    el("td", {}, user.role === "crew" ? crewPicker(user) : el("span", { class: "muted" }, "-")),
    el("td", {}, el("div", { class: "states" }, states)),
    el(
      "td",
      { class: "actions" },
      user.disabled
        ? el("button", { type: "button", class: "small", dataset: { action: "enable" }, onclick: () => setDisabled(user, false) }, "Enable")
        : el("button", { type: "button", class: "small danger", dataset: { action: "disable" }, disabled: self, title: self ? "You cannot disable yourself" : undefined, onclick: () => setDisabled(user, true) }, "Disable"),
      el("button", { type: "button", class: "small", dataset: { action: "reset" }, disabled: self, title: self ? "Ask another supervisor" : undefined, onclick: () => resetPassword(user) }, "Reset password"),
      user.locked && el("button", { type: "button", class: "small", dataset: { action: "unlock" }, onclick: () => unlock(user) }, "Unlock"),
      user.role === "supervisor" && el("button", { type: "button", class: "small", dataset: { action: "reset-second-factor" }, disabled: self, title: self ? "Ask another supervisor" : undefined, onclick: () => resetSecondFactor(user) }, "Reset 2nd factor"),
    ),
  );
}

function crewPicker(user) {
  return el(
    "select",
    {
      class: "crew-pick",
      dataset: { action: "crew" },
      "aria-label": `Crew of ${user.username}`,
      onchange: (e) => moveMember(user, e.target),
    },
    crewOptions(user.crew_id),
  );
}

function renderCrews() {
  if (!$("people-crews")) return;
  clear(
    $("people-crews"),
    el(
      "thead",
      {},
      el("tr", {}, el("th", {}, "Callsign"), el("th", {}, "Mode"), el("th", {}, "State"),
        el("th", {}, "Members"), el("th", {}, "")),
    ),
    el("tbody", {}, people.crews.length ? people.crews.map(crewRow) : el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No crews yet."))),
  );
}

function crewRow(crew) {
  const live = ctx.store.crews.get(crew.id);
  const state = live?.state || crew.state;
  const members = crew.members.map(userOf).filter(Boolean);
  return el(
    "tr",
    { dataset: { crew: crew.callsign } },
    el("td", {}, el("strong", {}, crew.callsign)),
    el("td", {}, MODES.find(([m]) => m === crew.mode)?.[1] || crew.mode),
    el("td", {}, el("span", { class: `pill state-${state}` }, STATE_NAMES[state] || state)),
    el(
      "td",
      { class: "members" },
      members.length
        ? members.flatMap((u, i) => [i ? ", " : "", el("span", { class: u.disabled ? "muted struck" : undefined }, u.display_name)])
        : el("span", { class: "muted" }, "no members"),
    ),
    el("td", { class: "actions" }, el("button", { type: "button", class: "small", dataset: { action: "edit" }, onclick: () => editCrew(crew) }, "Edit")),
  );
}

// --- actions ----------------------------------------------------------------------------------

async function setDisabled(user, disabled) {
  if (disabled) {
    const ok = await confirmDialog(
      `Disable ${user.display_name}?`,
      `${user.username} is signed out at once on every device and cannot sign in until enabled again.`,
      "Disable",
    );
    if (!ok) return;
  }
  try {
    await ctx.api("PATCH", `/api/console/users/${encodeURIComponent(user.id)}`, { disabled });
    ctx.toast(`${user.username} ${disabled ? "disabled" : "enabled"}.`, "ok");
  } catch (error) {
    ctx.toast(error.message, "error");
  }
  await load();
}

async function resetPassword(user) {
  const ok = await confirmDialog(
    `Reset the password of ${user.display_name}?`,
    `${user.username}'s old password stops working and every session ends. A new password is shown once.`,
    "Reset password",
  );
  if (!ok) return;
  try {
    const reset = await ctx.api("POST", `/api/console/users/${encodeURIComponent(user.id)}/password`);
    showPassword(reset.user, reset.password, "Password reset");
  } catch (error) {
    ctx.toast(error.message, "error");
  }
  await load();
}

async function unlock(user) {
  try {
    await ctx.api("POST", `/api/console/users/${encodeURIComponent(user.id)}/unlock`);
    ctx.toast(`${user.display_name} can sign in again now.`);
  } catch (error) {
    ctx.toast(error.message, "error");
  }
  await load();
}

async function resetSecondFactor(user) {
  const ok = await confirmDialog(
    `Reset the second factor of ${user.display_name}?`,
    `${user.username}'s authenticator and recovery codes stop working and every session ends. A new authenticator is set up at the next sign-in.`,
    "Reset second factor",
  );
  if (!ok) return;
  try {
    await ctx.api("POST", `/api/console/users/${encodeURIComponent(user.id)}/second-factor/reset`);
    ctx.toast(`${user.display_name} sets up a new authenticator at the next sign-in.`);
  } catch (error) {
    ctx.toast(error.message, "error");
  }
  await load();
}

async function moveMember(user, select) {
  const crew = crewOf(select.value);
  try {
    await ctx.api("PATCH", `/api/console/users/${encodeURIComponent(user.id)}`, { crew_id: select.value });
    ctx.toast(`${user.username} moved to ${crew?.callsign}: her phone signs in again.`, "ok");
  } catch (error) {
    select.value = user.crew_id;
    ctx.toast(error.message, "error");
  }
  await load();
}

function editCrew(crew) {
  const callsign = el("input", { id: "edit-callsign", value: crew.callsign, maxlength: 32, required: true });
  const mode = el("select", { id: "edit-mode" }, options(MODES, crew.mode));
  const problem = el("p", { class: "problem", id: "edit-crew-problem", role: "alert" });
  const dialog = el(
    "dialog",
    { class: "people-dialog", id: "crew-dialog" },
    el(
      "form",
      {
        method: "dialog",
        onsubmit: async (e) => {
          e.preventDefault();
          const body = {};
          if (callsign.value.trim() !== crew.callsign) body.callsign = callsign.value.trim();
          if (mode.value !== crew.mode) body.mode = mode.value;
          if (!Object.keys(body).length) return close();
          try {
            await ctx.api("PATCH", `/api/console/crews/${encodeURIComponent(crew.id)}`, body);
          } catch (error) {
            problem.textContent = error.message;
            return undefined;
          }
          ctx.toast(`Crew ${body.callsign || crew.callsign} saved.`, "ok");
          close();
          return load();
        },
      },
      el("h2", {}, `Crew ${crew.callsign}`),
      el("div", { class: "row" }, el("label", {}, "Callsign", callsign), el("label", {}, "Mode", mode)),
      problem,
      el(
        "div",
        { class: "row end" },
        el("button", { type: "button", onclick: () => close() }, "Back"),
        el("button", { type: "submit", class: "primary", id: "crew-save" }, "Save"),
      ),
    ),
  );
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  document.body.append(dialog);
  dialog.showModal();
  callsign.focus();
}

function confirmDialog(title, text, okLabel) {
  return new Promise((resolve) => {
    const done = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const dialog = el(
      "dialog",
      { class: "people-dialog", id: "confirm-dialog" },
      el("h2", {}, title),
      el("p", {}, text),
      el(
        "div",
        { class: "row end" },
        el("button", { type: "button", id: "confirm-back", onclick: () => done(false) }, "Back"),
        el("button", { type: "button", class: "primary", id: "confirm-ok", onclick: () => done(true) }, okLabel),
      ),
    );
    dialog.addEventListener("cancel", () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

// The password is in this dialog only: it is never stored by the page.
function showPassword(user, password, title) {
  const value = el("code", { id: "new-password-value", "data-testid": "new-password" }, password);
  const copied = el("span", { class: "muted", role: "status" });
  const dialog = el(
    "dialog",
    { class: "people-dialog password", id: "password-dialog" },
    el("h2", {}, `${title}: ${user.username}`),
    el("p", {}, "This password is shown only this once. Give it to ", el("strong", {}, user.display_name),
      " in person; it cannot be shown again."),
    el("div", { class: "secret row" }, value, el("button", {
      type: "button",
      id: "copy-password",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(password);
          copied.textContent = "Copied.";
        } catch {
          getSelection().selectAllChildren(value);
          copied.textContent = "Selected: press Ctrl+C to copy.";
        }
      },
    }, "Copy"), copied),
    el(
      "div",
      { class: "row end" },
      el("button", { type: "button", class: "primary", id: "password-done", onclick: () => { dialog.close(); dialog.remove(); } }, "Done"),
    ),
  );
  document.body.append(dialog);
  dialog.showModal();
}
