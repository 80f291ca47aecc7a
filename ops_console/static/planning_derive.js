// Planning: "Derive from reports". For a draft's places, the risk and hourly weights derived
// from the public's reports within each place over a chosen period (an older report counts
// less: the half-life in config.toml), shown beside the typed ones. The supervisor accepts
// the derived numbers for the places she ticks (or all), or keeps the typed ones; accepting
// is an ordinary edit of the operation (PATCH /api/operations/{op}/places, audited), and
// like any change of risk it drops the unpinned planned deployments: generate again.

import { clear, dayStart, el } from "./common.js";
import { dialog, OPS, refused } from "./planning_common.js";

const RISK = "/api/console/public-reports/risk";

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

// 24 weights as a row of small bars (the tallest fills the box); the numbers in its title.
function bars(hourly, id) {
  if (!hourly) return el("span", { class: "muted", id }, "flat");
  const top = Math.max(...hourly) || 1;
  return el("span", { class: "hour-bars", id, title: hourly.map((w, h) => `${String(h).padStart(2, "0")}: ${w}`).join("\n"),
    dataset: { hourly: hourly.join(" ") } },
  hourly.map((w) => el("span", { class: "hour-bar", style: `height:${Math.max(1, Math.round((18 * w) / top))}px` })));
}

export function deriveFromReports(s) {
  const today = new Date();
  const from = new Date();
  from.setDate(from.getDate() - 364);
  const since = el("input", { type: "date", id: "derive-from", value: isoDay(from) });
  const until = el("input", { type: "date", id: "derive-to", value: isoDay(today) });
  const result = el("div", { id: "derive-result" });
  let derived = null;

  async function run(problem) {
    problem.textContent = "";
    if (!since.value || !until.value || until.value < since.value) {
      problem.textContent = "Choose the period: a 'from' date on or before the 'to' date.";
      return;
    }
    const params = new URLSearchParams({ operation: s.op.id, since: dayStart(since.value), until: dayStart(until.value, 1) });
    try {
      derived = await s.ctx.api("GET", `${RISK}?${params}`);
    } catch (error) {
      refused(s, error, problem);
      return;
    }
    render();
  }

  function render() {
    const d = derived;
    const rows = d.places.map((p) =>
      el("tr", { dataset: { placeId: p.place_id, testid: "derive-row" } },
        el("td", {}, el("input", { type: "checkbox", class: "derive-take", value: p.place_id,
          checked: p.risk !== null, disabled: p.risk === null, "aria-label": `Accept the derived numbers for ${p.name}` })),
        el("td", { class: "place-name" }, p.name),
        el("td", { class: "num derive-reports" }, String(p.reports)),
        el("td", { class: "num derive-typed-risk" }, String(p.typed_risk)),
        el("td", { class: "num derive-risk" }, p.risk === null ? "-" : String(p.risk)),
        el("td", {}, bars(p.typed_hourly)),
        el("td", {}, p.risk === null ? "-" : bars(p.hourly))));
    clear(
      result,
      el("p", { class: "muted", id: "derive-summary" },
        `${d.reports} report${d.reports === 1 ? "" : "s"} within the places (spam and duplicates left out). ` +
        `Half-life ${d.half_life_days} days; the average place gets ${d.scale}, the typed risks' average, ` +
        `none less than ${d.risk_floor} of that; ` +
        `hourly weights on the ${d.timezone} clock average 1, none below ${d.hourly_floor}.`),
      d.reports === 0
        ? el("p", { id: "derive-none" }, "No report within any place in this period: nothing to derive.")
        : null,
      el("table", { class: "grid", id: "derive-table" },
        el("thead", {}, el("tr", {}, el("th", {}, "Take"), el("th", {}, "Place"), el("th", { class: "num" }, "Reports"),
          el("th", { class: "num" }, "Typed risk"), el("th", { class: "num" }, "Derived risk"),
          el("th", {}, "Typed hours"), el("th", {}, "Derived hours"))),
        el("tbody", {}, rows)),
      el("div", { class: "row" },
        el("button", { type: "button", id: "derive-all", class: "small", disabled: d.reports === 0,
          onclick: () => { for (const box of result.querySelectorAll(".derive-take:not(:disabled)")) box.checked = true; } }, "Tick all"),
        el("button", { type: "button", id: "derive-none-ticked", class: "small",
          onclick: () => { for (const box of result.querySelectorAll(".derive-take")) box.checked = false; } }, "Untick all"),
        el("span", { class: "muted small" }, "Places left unticked keep their typed numbers.")),
    );
  }

  const problemHolder = { node: null };
  const body = el("div", { class: "derive" },
    el("p", {}, "Risk and hourly weights from the public's reports within each place. Nothing changes until you accept."),
    el("div", { class: "row" },
      el("label", {}, "Happened from", since), el("label", {}, "to", until),
      el("button", { type: "button", id: "derive-run", onclick: () => run(problemHolder.node) }, "Derive")),
    result);
  const box = dialog("derive-dialog", `Derive from reports: ${s.op.name}`, body, "Accept ticked", async (problem) => {
    if (!derived) {
      await run(problem);
      return false;
    }
    const chosen = new Set([...result.querySelectorAll(".derive-take:checked")].map((b) => b.value));
    const places = derived.places.filter((p) => chosen.has(p.place_id) && p.risk !== null)
      .map((p) => ({ id: p.place_id, risk: p.risk, hourly: p.hourly }));
    if (!places.length) {
      problem.textContent = "Tick the places whose derived numbers you accept, or go Back to keep the typed ones.";
      return false;
    }
    try {
      const source = `derived from reports ${since.value} to ${until.value}`;
      const op = await s.ctx.api("PATCH", `${OPS}/${s.op.id}/places`, { places, source });
      const plan = await s.ctx.api("GET", `${OPS}/${op.id}/plan`);
      s.editNote = `Risk from reports accepted for ${places.length} place${places.length === 1 ? "" : "s"}: generate the plan again.`;
      s.setPlan(op, plan.deployments.length ? plan : null);
      s.ctx.toast(`Derived numbers accepted for ${places.length} place${places.length === 1 ? "" : "s"}.`, "ok");
      return true;
    } catch (error) {
      refused(s, error, problem);
      return false;
    }
  });
  box.classList.add("wide");
  problemHolder.node = box.querySelector("#derive-dialog-problem");
  run(problemHolder.node);
}
