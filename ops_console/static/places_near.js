// Names for places on the board: the known place nearest each alert ("near Castle Green,
// 120 m N"), from the operations' places and the force's gazetteer within
// maps.near_radius_m. Asked of the server once per alert, and again once she has moved
// MOVED_M or more; the board is redrawn when an answer comes.

const MOVED_M = 25;
const known = new Map(); // alert id -> { lat, lon, text, asking }

function metres(a, b) {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.hypot(x, y) * 6_371_009;
}

// The line for this alert at (lat, lon): "" until the server has answered, or when no
// known place is near.
export function nearText(api, alertId, lat, lon, redraw) {
  if (lat === null || lat === undefined) return "";
  const had = known.get(alertId);
  if (!had || (!had.asking && metres(had, { lat, lon }) >= MOVED_M)) {
    const entry = { lat, lon, text: had ? had.text : "", asking: true };
    known.set(alertId, entry);
    api("GET", `/api/console/places/near?lat=${lat.toFixed(6)}&lon=${lon.toFixed(6)}`)
      .then((answer) => {
        entry.text = answer.near ? answer.near.text : "";
      })
      .catch(() => {
        /* a nicety: the coordinates are on the card's detail meanwhile */
      })
      .finally(() => {
        entry.asking = false;
        redraw();
      });
  }
  return known.get(alertId).text;
}

// Alerts no longer on the board are forgotten.
export function forgetExcept(alertIds) {
  for (const id of known.keys()) if (!alertIds.has(id)) known.delete(id);
}
