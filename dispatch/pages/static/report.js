// The public's report page: what, where (a pin or her location), when, a few optional
// words; a proof of work found in a Web Worker while she fills it in; one POST. Talks to
// this server only. The server rounds the position and checks everything again.
import { baseMap } from "./basemap.js";

const config = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
const form = $("report");
let language = pickLanguage();
let pin = null; // {lat, lon}
let marker = null;
let proof = null; // a promise of {challenge, nonce}
let worker = null;

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked && config.languages.includes(asked)) return asked;
  for (const tag of navigator.languages || []) {
    const base = tag.slice(0, 2).toLowerCase();
    if (config.languages.includes(base)) return base;
  }
  return config.languages[0];
}

function t(key, values = {}) {
  const text = config.strings[language][key] ?? config.strings[config.languages[0]][key] ?? "";
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

function applyWords() {
  document.documentElement.lang = language;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  $("languages").setAttribute("aria-label", t("language_label"));
  for (const button of $("languages").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.language === language));
  }
  countCharacters();
}

function buildLanguages() {
  if (config.languages.length < 2) return;
  for (const code of config.languages) {
    const button = document.createElement("button");
    button.type = "button";
    button.lang = code;
    button.dataset.language = code;
    button.textContent = config.strings[code].language_name || code;
    button.addEventListener("click", () => {
      language = code;
      const url = new URL(location.href);
      url.searchParams.set("lang", code);
      history.replaceState(null, "", url);
      applyWords();
      $("problem").textContent = "";
    });
    $("languages").append(button);
  }
}

function buildKinds() {
  for (const kind of config.kinds) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "kind";
    input.value = kind;
    const words = document.createElement("span");
    words.dataset.t = `kind.${kind}`;
    label.append(input, words);
    $("kinds").append(label);
  }
}

const map = baseMap($("map"), { tiles: config.tiles, tile_url: "", tile_attribution: "" });
map.setView(config.centre, 14);
L.circle(config.centre, { radius: config.radius_m, weight: 1, color: "#607d8b", fill: false, interactive: false }).addTo(map);
map.on("click", (event) => setPin(event.latlng.lat, event.latlng.lng, "pin_set"));

function setPin(lat, lon, said) {
  pin = { lat, lon };
  if (marker) marker.setLatLng([lat, lon]);
  else marker = L.circleMarker([lat, lon], { radius: 10, weight: 3, color: "#b71c1c", fillOpacity: 0.5 }).addTo(map);
  $("where-status").dataset.t = said;
  $("where-status").textContent = t(said);
}

$("locate").addEventListener("click", () => {
  const status = $("where-status");
  pin = null; // until her position comes: an old pin is not where she is now
  if (marker) marker.remove();
  marker = null;
  status.dataset.t = "locating";
  status.textContent = t("locating");
  if (!navigator.geolocation) {
    status.dataset.t = "location_failed";
    status.textContent = t("location_failed");
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (position) => {
      const { latitude, longitude } = position.coords;
      setPin(latitude, longitude, "location_set");
      map.setView([latitude, longitude], Math.max(map.getZoom(), 15));
    },
    () => {
      status.dataset.t = "location_failed";
      status.textContent = t("location_failed");
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 },
  );
});

for (const radio of form.querySelectorAll("input[name=when]")) {
  radio.addEventListener("change", () => {
    $("when-at-label").hidden = form.elements.when.value !== "earlier";
  });
}

function countCharacters() {
  const count = $("description").value.length;
  const line = $("description-count");
  line.textContent = t("description_count", { count, max_chars: config.description_max });
  line.classList.toggle("over", count > config.description_max);
}
$("description").addEventListener("input", countCharacters);

// The proof of work, started as soon as the page opens and again after each use.
function prove() {
  const made = fetch("/api/public/challenge", { cache: "no-store", credentials: "omit" })
    .then((response) => {
      if (!response.ok) throw new Error("challenge");
      return response.json();
    })
    .then(
      ({ challenge, bits }) =>
        new Promise((resolve, reject) => {
          if (worker) worker.terminate();
          worker = new Worker("/pages/static/report-pow.js");
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = () => reject(new Error("worker"));
          worker.postMessage({ challenge, bits });
        }),
    );
  made.catch(() => {}); // reported when it is awaited
  return made;
}

function occurredAt() {
  if (form.elements.when.value !== "earlier") return "now";
  const at = new Date($("when-at").value);
  return Number.isNaN(at.getTime()) ? "" : at.toISOString();
}

function body(work) {
  const kind = form.elements.kind.value || null;
  return {
    kind,
    lat: pin ? pin.lat : null,
    lon: pin ? pin.lon : null,
    occurred_at: occurredAt(),
    description: $("description").value,
    vehicle_reg: $("vehicle-reg").value,
    contact: $("contact").value,
    language,
    challenge: work.challenge,
    nonce: work.nonce,
  };
}

async function send(retried = false) {
  let work;
  try {
    $("progress").textContent = t("preparing");
    work = await proof;
  } catch {
    proof = prove();
    throw new Error("network");
  }
  $("progress").textContent = t("sending");
  const response = await fetch("/api/public/reports", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body(work)),
    credentials: "omit",
    cache: "no-store",
  });
  const answer = await response.json().catch(() => ({ code: "other" }));
  if (response.status === 201) {
    proof = prove();
    return answer;
  }
  if (String(answer.code).startsWith("pow_")) {
    proof = prove(); // that challenge is spent or lapsed: a fresh one, once
    if (!retried) return send(true);
  }
  const problem = new Error(answer.code);
  problem.answer = answer;
  throw problem;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("problem").textContent = "";
  $("send").disabled = true;
  try {
    const answer = await send();
    $("reference").textContent = t("reference", { reference: answer.reference });
    $("form-screen").hidden = true;
    $("done").hidden = false;
    window.scrollTo(0, 0);
  } catch (problem) {
    const code = problem.answer ? problem.answer.code : "network";
    const own = config.strings[language][`error.${code}`];
    $("problem").textContent = own ? t(`error.${code}`) : (problem.answer && problem.answer.message) || t("error.other");
  } finally {
    $("send").disabled = false;
    $("progress").textContent = "";
  }
});

$("another").addEventListener("click", () => {
  form.reset();
  pin = null;
  if (marker) marker.remove();
  marker = null;
  delete $("where-status").dataset.t;
  $("where-status").textContent = "";
  $("when-at-label").hidden = true;
  $("done").hidden = true;
  $("form-screen").hidden = false;
  countCharacters();
});

buildLanguages();
buildKinds();
applyWords();
proof = prove();
