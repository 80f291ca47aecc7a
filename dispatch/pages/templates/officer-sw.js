// The officer's page opens without signal: its shell is cached here and served from
// the cache at once, while a fresh copy is fetched for next time.
const CACHE = "officer-{{VERSION}}";
const SHELL = [
  "/officer",
  "/officer.webmanifest",
  "/pages/static/officer.js",
  "/pages/static/link.js",
  "/pages/static/officer_incident.js",
  "/pages/static/welfare.js",
  "/pages/static/pages.css",
  "/pages/icon-192.png",
  "/pages/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!SHELL.includes(url.pathname)) return; // never the API or the websocket
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(url.pathname);
      const fresh = fetch(event.request).then((response) => {
        if (response.ok) cache.put(url.pathname, response.clone());
        return response;
      });
      if (cached) {
        event.waitUntil(fresh.catch(() => undefined));
        return cached;
      }
      return fresh;
    }),
  );
});
