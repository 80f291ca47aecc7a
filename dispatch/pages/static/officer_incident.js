// The officer's page and issue 14's incident parts: EXERCISE while her alert or her live
// deployment is a drill, and a supervisor's discreet code ("help is close"), played as a
// vibration pattern with nothing on screen. A code that arrives late (a replay after a
// reconnect, older than signal_max_age_s by the server's clock) is not played.

import { vibrate } from "./link.js";

const OPEN = new Set(["raised", "dispatching", "assigned", "on_scene", "unassigned"]);
const drills = new Set(); // her open alerts that are exercises

// A `signal` frame: vibrated if fresh; true when the frame was one.
export function playSignal(frame, { clockOffsetMs, maxAgeS }) {
  if (frame.type !== "signal") return false;
  const serverNow = Date.now() + (clockOffsetMs ?? 0);
  const age = serverNow - Date.parse(frame.signal.at);
  if (age <= (maxAgeS ?? 60) * 1000) vibrate(frame.signal.pattern);
  return true;
}

// After a snapshot, alert or deployment frame: EXERCISE shown or hidden.
export function markExercise(frame, deployments) {
  if (frame.type === "snapshot") {
    drills.clear();
    for (const a of frame.alerts) if (a.exercise && OPEN.has(a.state)) drills.add(a.id);
  } else if (frame.type === "alert") {
    if (frame.alert.exercise && OPEN.has(frame.alert.state)) drills.add(frame.alert.id);
    else drills.delete(frame.alert.id);
  }
  const drill = [...deployments.values()].some((d) => d.exercise && d.state === "live");
  const mark = document.getElementById("exercise");
  if (mark) mark.hidden = !(drill || drills.size);
}
