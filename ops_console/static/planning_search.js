// Planning: find a place by name (the operations' places and the force's gazetteer). A
// pick centres the map on it and, on a draft, opens the place form filled with its name
// and coordinates.

import { el } from "./common.js";

const WAIT_MS = 250; // typing: ask once the supervisor pauses

export function placeSearch(s, onPick) {
  let timer = null;
  let asked = 0;
  const list = el("div", { class: "place-hits", id: "place-hits", role: "listbox" });
  const input = el("input", {
    type: "search",
    id: "place-search",
    placeholder: "Find a place by name",
    "aria-label": "Find a place by name",
    maxlength: 100,
    autocomplete: "off",
    oninput: () => {
      clearTimeout(timer);
      timer = setTimeout(find, WAIT_MS);
    },
    onkeydown: (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        clearTimeout(timer);
        find();
      }
    },
  });

  async function find() {
    const q = input.value.trim();
    const mine = ++asked;
    if (!q) {
      list.replaceChildren();
      return;
    }
    let answer;
    try {
      answer = await s.ctx.api("GET", `/api/console/places/search?q=${encodeURIComponent(q)}&limit=8`);
    } catch (error) {
      if (mine === asked) list.replaceChildren(el("p", { class: "problem" }, error.message));
      return;
    }
    if (mine !== asked) return; // a later search answers instead
    list.replaceChildren(
      ...(answer.places.length
        ? answer.places.map((hit) =>
            el("button", { type: "button", class: "place-hit", role: "option", dataset: { testid: "place-hit" },
              onclick: () => {
                list.replaceChildren();
                input.value = hit.name;
                onPick(hit);
              } },
              hit.name, el("span", { class: "muted small" }, hit.source === "operation" ? " (operation place)" : "")),
          )
        : [el("p", { class: "muted small" }, `No place called "${q}".`)]),
    );
  }

  return el("div", { class: "place-search" }, input, list);
}
