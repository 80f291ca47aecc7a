// Planning: times in an operation's own timezone. Instants travel as UTC ISO strings; the
// supervisor reads and types them as wall-clock times where the operation happens.

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const formats = new Map();
export function parts(date, timeZone) {
  if (!formats.has(timeZone)) {
    formats.set(timeZone, new Intl.DateTimeFormat("en-GB", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    }));
  }
  const p = Object.fromEntries(formats.get(timeZone).formatToParts(date).map((x) => [x.type, x.value]));
  return { y: +p.year, m: +p.month, d: +p.day, h: +p.hour, min: +p.minute };
}

export const pad = (n) => String(n).padStart(2, "0");
export const dayKey = (p) => `${p.y}-${pad(p.m)}-${pad(p.d)}`;

// "2027-03-01T18:30" (for datetime-local inputs) of an instant, in the zone.
export function toLocalInput(iso, timeZone) {
  const p = parts(new Date(iso), timeZone);
  return `${dayKey(p)}T${pad(p.h)}:${pad(p.min)}`;
}

// The UTC instant (ISO) of a wall-clock time typed in the zone.
export function fromLocalInput(value, timeZone) {
  const [date, time] = value.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [h, min] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, h, min);
  const offset = (t) => {
    const p = parts(new Date(t), timeZone);
    return Date.UTC(p.y, p.m - 1, p.d, p.h, p.min) - t;
  };
  let t = wall - offset(wall);
  t = wall - offset(t);
  return new Date(t).toISOString();
}

export function when(iso, timeZone) {
  return new Date(iso).toLocaleString("en-GB", {
    timeZone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

export const clock = (iso, timeZone) => {
  const p = parts(new Date(iso), timeZone);
  return `${pad(p.h)}:${pad(p.min)}`;
};

export function windowText(op) {
  return `${when(op.window_start, op.timezone)} – ${when(op.window_end, op.timezone)}`;
}
