// A Leaflet map that works with no tile server at all: a grid drawn on canvas, a metric
// scale, and tiles over it from the force's own archive on this server (`config.tiles`,
// see docs/maps.md) or else from `tile_url` when that is configured. Shared by the crew
// page and the supervisors' console.

const Grid = L.GridLayer.extend({
  createTile() {
    const tile = document.createElement("canvas");
    const size = this.getTileSize();
    tile.width = size.x;
    tile.height = size.y;
    const g = tile.getContext("2d");
    g.fillStyle = "#eef2f3";
    g.fillRect(0, 0, size.x, size.y);
    g.strokeStyle = "#cfd8dc";
    g.lineWidth = 1;
    for (let i = 1; i < 4; i += 1) {
      g.beginPath();
      g.moveTo((size.x * i) / 4, 0);
      g.lineTo((size.x * i) / 4, size.y);
      g.moveTo(0, (size.y * i) / 4);
      g.lineTo(size.x, (size.y * i) / 4);
      g.stroke();
    }
    g.strokeStyle = "#90a4ae";
    g.lineWidth = 2;
    g.strokeRect(0, 0, size.x, size.y);
    return tile;
  },
});

// `config` holds tiles (the archive's url, min_zoom, max_zoom, bounds and attribution, or
// null), tile_url and tile_attribution (the page's settings).
export function baseMap(node, config) {
  const own = config.tiles;
  const map = L.map(node, { zoomControl: true, attributionControl: Boolean(own || config.tile_url) });
  new Grid({ maxZoom: 20 }).addTo(map);
  if (own) {
    // Past the archive's zooms its nearest tiles are stretched; outside its area, the grid.
    const options = {
      className: "own-tiles",
      attribution: escapeHtml(own.attribution || config.tile_attribution || ""),
      maxZoom: 20,
      maxNativeZoom: own.max_zoom,
      minNativeZoom: own.min_zoom,
      minZoom: Math.max(0, own.min_zoom - 2),
    };
    if (own.bounds) {
      const [west, south, east, north] = own.bounds;
      options.bounds = L.latLngBounds([south, west], [north, east]);
    }
    L.tileLayer(own.url, options).addTo(map);
  } else if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: config.tile_attribution, maxZoom: 19 }).addTo(map);
  }
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
  return map;
}

// Permanent labels (tooltips with the class "map-label") that would overlap are moved
// apart, a line at a time: officers' first, places' last. Run after every redraw and zoom.
export function spreadLabels(map) {
  const rank = (label) => (label.classList.contains("officer") || label.classList.contains("officer-label") ? 0 : label.classList.contains("place") ? 2 : 1);
  const labels = [...map.getContainer().querySelectorAll(".leaflet-tooltip.map-label")]
    .filter((label) => label.style.opacity !== "0") // removed, fading out
    .sort((a, b) => rank(a) - rank(b));
  const placed = [];
  for (const label of labels) {
    label.style.translate = "";
    let box = label.getBoundingClientRect();
    const step = box.height + 2;
    for (let k = 1; k <= 16 && placed.some((other) => overlap(other, box)); k += 1) {
      const shift = (k % 2 ? 1 : -1) * Math.ceil(k / 2) * step;
      label.style.translate = `0 ${shift}px`;
      box = label.getBoundingClientRect();
    }
    placed.push(box);
  }
}

// The archive's attribution is text from a file: never HTML.
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function overlap(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}
