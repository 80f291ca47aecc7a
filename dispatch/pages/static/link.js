// The websocket to the server: connects by itself, syncs, reconnects with backoff,
// answers each request with its ack or error, and knows when the phone is offline.

const RETRY_MAX_MS = 5000;
const ANSWER_TIMEOUT_MS = 8000;
const OFFSET_KEY = "link.clockOffsetMs";

export class Link {
  constructor(handlers) {
    this.h = handlers; // onFrame(frame), onState(state), onOpen(), onRefused(), onSignedOut()
    this.ws = null;
    this.seq = null;
    this.pending = new Map();
    this.count = 0;
    this.retry = 0;
    this.timer = null;
    this.stopped = true;
    this.state = "offline";
    // Server clock less this phone's (ms), measured on each sync; kept across reloads so
    // that an alert sent on reconnecting, before the sync, has one. null: never measured.
    const kept = localStorage.getItem(OFFSET_KEY);
    this.clockOffsetMs = kept !== null && Number.isFinite(Number(kept)) ? Number(kept) : null;
    addEventListener("online", () => this.connect());
    addEventListener("offline", () => this.drop());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.drop();
  }

  isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  setState(state) {
    this.state = state;
    this.h.onState?.(state);
  }

  connect() {
    if (this.ws || this.stopped) return;
    clearTimeout(this.timer);
    if (!navigator.onLine) {
      this.setState("offline");
      return;
    }
    this.setState("connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    let opened = false;
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.retry = 0;
      this.setState("open");
      this.h.onOpen?.(); // what must go at once (an alert) goes before the sync
      const sent = Date.now();
      this.request("sync", { last_seq: this.seq }).then(
        (answer) => {
          if (answer.type !== "ack") return;
          this.measureClock(sent, Date.now(), answer.result.server_time);
          this.setState("synced");
        },
        () => {},
      );
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.receive(frame);
    };
    ws.onclose = (event) => this.closed(ws, event.code, opened, event.reason);
  }

  // The server put its clock in the sync's ack: taken as the middle of the round trip.
  measureClock(sent, received, serverTime) {
    const server = Date.parse(serverTime);
    if (!Number.isFinite(server)) return;
    this.clockOffsetMs = Math.round(server - (sent + received) / 2);
    try {
      localStorage.setItem(OFFSET_KEY, String(this.clockOffsetMs));
    } catch {
      /* storage full or off: kept for this page only */
    }
  }

  // Forget the socket at once (it may hang without a network), then close it.
  drop() {
    const ws = this.ws;
    if (ws) {
      this.closed(ws, 1006, true);
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
  }

  closed(ws, code, opened, reason = "") {
    if (this.ws !== ws) return;
    this.ws = null;
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error("connection closed"));
    }
    this.pending.clear();
    this.setState("offline");
    if (code === 4001) {
      this.stopped = true;
      this.h.onSignedOut?.();
      return;
    }
    if (!opened) this.h.onRefused?.();
    if (this.stopped) return;
    // A busy server (a storm of reconnects) says when to come back: 1013 with
    // "retry_after_ms=N". Otherwise back off, with jitter so phones spread out.
    const asked = code === 1013 && /retry_after_ms=(\d+)/.exec(reason);
    const backoff = Math.min(RETRY_MAX_MS, 500 * 2 ** this.retry++);
    const delay = asked ? Number(asked[1]) : backoff * (0.5 + Math.random());
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // Send one message; resolves with its ack or error frame, rejects if the socket goes.
  request(type, body = {}) {
    if (!this.isOpen()) return Promise.reject(new Error("not connected"));
    const id = `${type}-${++this.count}-${Date.now().toString(36)}`;
    const ws = this.ws;
    return new Promise((resolve, reject) => {
      // No answer in time: the socket is dead without knowing it. Start again.
      const timer = setTimeout(() => {
        if (this.ws === ws) this.drop();
      }, ANSWER_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ type, id, ...body }));
    });
  }

  receive(frame) {
    if ((frame.type === "ack" || frame.type === "error") && this.pending.has(frame.id)) {
      const { resolve, timer } = this.pending.get(frame.id);
      clearTimeout(timer);
      this.pending.delete(frame.id);
      resolve(frame);
      return;
    }
    if (typeof frame.seq === "number") {
      this.seq = frame.type === "snapshot" ? frame.seq : Math.max(this.seq ?? 0, frame.seq);
    }
    this.h.onFrame?.(frame);
  }
}

// Who is signed in: {state: "in", me} | {state: "out"} | {state: "unknown"} (no network).
export async function whoAmI() {
  try {
    const response = await fetch("/api/pages/me", { credentials: "same-origin" });
    if (response.status === 401) return { state: "out" };
    if (!response.ok) return { state: "unknown" };
    return { state: "in", me: await response.json() };
  } catch {
    return { state: "unknown" };
  }
}

export async function signIn(username, password) {
  let response;
  try {
    response = await fetch("/api/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, message: "No connection. Try again when you have signal." };
  }
  if (response.ok) return { ok: true };
  let message = "Could not sign in.";
  try {
    message = (await response.json()).message || message;
  } catch {
    /* keep the plain message */
  }
  return { ok: false, message };
}

export function vibrate(pattern) {
  try {
    navigator.vibrate?.(pattern);
  } catch {
    /* not on this device */
  }
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

// A fix from the Geolocation API, in the protocol's shape.
export function fixOf(position) {
  return {
    lat: position.coords.latitude,
    lon: position.coords.longitude,
    accuracy: Math.min(100000, Math.max(0, position.coords.accuracy ?? 0)),
    at: new Date(Math.min(position.timestamp || Date.now(), Date.now())).toISOString(),
  };
}
