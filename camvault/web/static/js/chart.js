// The events chart (uPlot, a real time axis, zero-filled buckets, drag to zoom) and the
// weekday x hour heatmap. Each asks the server for what it draws: the chart for buckets by
// camera at the size it shows (days for long periods, hours for short ones), the heatmap for
// the 7 x 24 counts of /api/heatmap, both in the browser's time zone.

import { el, plural } from "./core.js";

const HOUR = 3600e3;
const AUTO_HOURS_UP_TO = 4 * 24 * HOUR;  // longer periods are shown per day
const MAX_SLOTS = 20000;
const MAX_TABLE_ROWS = 500;
export const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const floorHour = (ms) => Math.floor(ms / HOUR) * HOUR;
function startOfDay(ms) { const d = new Date(ms); d.setHours(0, 0, 0, 0); return d.getTime(); }
function nextDay(ms) { const d = new Date(ms); d.setDate(d.getDate() + 1); d.setHours(0, 0, 0, 0); return d.getTime(); }

/** The bucket the chart shows for a period from lo to hi (ms): hours up to four days, else days. */
function bucketFor(lo, hi, wanted) {
  let bucket = wanted === "hour" || wanted === "day" ? wanted : (hi - lo <= AUTO_HOURS_UP_TO ? "hour" : "day");
  if (bucket === "hour" && (hi - lo) / HOUR > MAX_SLOTS) bucket = "day";
  return bucket;
}

/** The first and last bucket start of an answer (ms), or null for an empty one. */
function extent(buckets) {
  if (!buckets.length) return null;
  let first = Infinity, last = -Infinity;
  for (const b of buckets) {
    const t = Date.parse(b.start);
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return [first, last];
}

/**
 * Ask for the chart's buckets and build its series. `ask(params)` resolves to the
 * /api/histogram answer for the current filters plus `params`. With since and until the
 * bucket follows from them; otherwise day buckets come first: for a period over four days
 * they are the answer, and they bound the period, so hours (of those days only) are asked
 * for a short or borderline one.
 */
export async function chartSeries(ask, { since, until, wanted = "auto" }) {
  if (since && until) {
    const bucket = bucketFor(Date.parse(since), Date.parse(until), wanted);
    return toSeries(await ask({ bucket }), { since, until, bucket });
  }
  const days = await ask({ bucket: "day" });
  const span = extent(days);
  if (!span) return null;
  // the first event falls in the first day, the last in the last: the period lies within
  const lo = since ? [Date.parse(since), Date.parse(since)] : [span[0], nextDay(span[0])];
  const hi = until ? [Date.parse(until), Date.parse(until)] : [span[1] + HOUR, nextDay(span[1])];
  if (bucketFor(lo[1], hi[0], wanted) === "day") return toSeries(days, { since, until, bucket: "day" });
  const hours = await ask({ bucket: "hour", since: new Date(lo[0]).toISOString(), until: new Date(hi[1]).toISOString() });
  const exact = extent(hours);
  if (!exact) return toSeries(days, { since, until, bucket: "day" });  // deleted meanwhile
  const bucket = bucketFor(since ? lo[0] : exact[0], until ? hi[0] : exact[1] + HOUR, wanted);
  return toSeries(bucket === "hour" ? hours : days, { since, until, bucket });
}

/**
 * Zero-filled series of `bucket`s (hour or day) for the chart: the period is since..until when
 * given, else the data's first to last bucket.
 */
export function toSeries(buckets, { since, until, bucket }) {
  const rows = buckets.map((b) => ({ t: Date.parse(b.start), key: b.key ?? "", n: b.count }));
  const span = extent(buckets);
  if (!span && !(since && until)) return null;
  const lo = since ? Date.parse(since) : span[0];
  const hi = until ? Date.parse(until) : span[1] + HOUR;
  const start = bucket === "hour" ? floorHour : startOfDay;
  const step = bucket === "hour" ? (ms) => ms + HOUR : nextDay;
  const xs = [];
  for (let t = start(lo); t < hi; t = step(t)) xs.push(t);
  const slot = new Map(xs.map((t, i) => [t, i]));
  const keys = [...new Set(rows.map((r) => r.key))].sort();
  const counts = new Map(keys.map((k) => [k, new Array(xs.length).fill(0)]));
  for (const r of rows) {
    const i = slot.get(start(r.t));
    if (i !== undefined) counts.get(r.key)[i] += r.n;
  }
  return { bucket, xs, end: xs.length ? step(xs[xs.length - 1]) : hi, keys, counts, lo, hi };
}

/** Say the period plainly: "Nov 3 – Nov 22, 2026, per day". */
export function describePeriod(s) {
  const sameYear = new Date(s.xs[0]).getFullYear() === new Date(s.end - 1).getFullYear();
  const day = { month: "short", day: "numeric" };
  if (!sameYear || new Date().getFullYear() !== new Date(s.end - 1).getFullYear()) day.year = "numeric";
  const fmt = s.bucket === "hour" ? Object.assign({ hour: "2-digit", minute: "2-digit" }, day) : day;
  const first = new Date(s.xs[0]).toLocaleString([], fmt);
  const last = new Date(s.bucket === "hour" ? s.end : s.xs[s.xs.length - 1]).toLocaleString([], fmt);
  return `${first} – ${last}, per ${s.bucket}`;
}

const DAY_S = 86400;
// ticks never finer than a bucket; 30 and 365 days are uPlot's month and year steps (calendar-aligned)
const HOUR_TICKS = [1, 2, 3, 6, 12, 24, 48, 96].map((h) => h * 3600).concat([7, 14, 30].map((d) => d * DAY_S));
const DAY_TICKS = [1, 2, 7, 14, 30, 60, 90, 180, 365, 730].map((d) => d * DAY_S);

let plot = null;
let resize = null;

/** Draw (or redraw) the stacked bar chart; `onZoom(fromMs, toMs)` gets a dragged range. */
export function drawChart(box, legend, s, colorOf, onZoom) {
  plot?.destroy();
  plot = null;
  resize?.disconnect();
  if (!s || !s.xs.length) {
    box.replaceChildren(el("p", { class: "empty" }, "No events match these filters."));
    legend.replaceChildren();
    return;
  }
  const keys = s.keys.length ? s.keys : [""];
  const raw = keys.map((k) => s.counts.get(k) || new Array(s.xs.length).fill(0));
  const stacked = [];  // cumulative sums, drawn tallest first so each camera shows its own band
  raw.forEach((r, i) => stacked.push(r.map((v, j) => v + (i ? stacked[i - 1][j] : 0))));
  const order = keys.map((_, i) => keys.length - 1 - i);
  const css = getComputedStyle(document.documentElement);
  const muted = css.getPropertyValue("--muted").trim(), line = css.getPropertyValue("--line").trim();
  const bars = uPlot.paths.bars({ size: [0.86, 64], align: 1 });
  const opts = {
    width: Math.max(box.clientWidth, 200),
    height: box.clientHeight || 160,
    padding: [8, 24, 0, 0],  // room for the last date under the axis
    scales: {
      x: { time: true, range: () => [s.xs[0] / 1000, s.end / 1000] },
      y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
    },
    axes: [
      { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line }, space: 56,
        incrs: s.bucket === "hour" ? HOUR_TICKS : DAY_TICKS },
      { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line }, size: 42,
        values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? v.toLocaleString() : "")) },
    ],
    series: [
      { label: "time", value: (u, v) => (v == null ? "" : new Date(v * 1000).toLocaleString([], s.bucket === "hour"
        ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", year: "numeric" })) },
      ...order.map((i) => ({
        label: keys[i] || "events", fill: colorOf(keys[i]), stroke: colorOf(keys[i]), width: 0,
        paths: bars, points: { show: false },
        value: (u, v, si, idx) => (idx == null ? "" : raw[i][idx].toLocaleString()),
      })),
    ],
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    hooks: {
      setSelect: [(u) => {
        if (u.select.width > 3) {
          const from = u.posToVal(u.select.left, "x") * 1000;
          const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
          onZoom(snap(s, from, false), snap(s, to, true));
        }
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      }],
    },
  };
  box.replaceChildren();
  plot = new uPlot(opts, [s.xs.map((t) => t / 1000), ...order.map((i) => stacked[i])], box);
  plot.root.setAttribute("aria-hidden", "true");
  box.append(chartTable(s, raw));
  resize = new ResizeObserver(() => plot && plot.setSize({ width: Math.max(box.clientWidth, 200), height: box.clientHeight || 160 }));
  resize.observe(box);
  legend.replaceChildren(...keys.filter(Boolean).map((k) => el("span", {}, el("i", { style: `background:${colorOf(k)}` }), k)));
}

/** The chart's numbers as a (visually hidden) table for screen readers, one row per bucket. */
function chartTable(s, raw) {
  const fmt = s.bucket === "hour" ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
    : { weekday: "short", month: "short", day: "numeric", year: "numeric" };
  const rows = s.xs.length <= MAX_TABLE_ROWS ? s.xs.map((t, i) => el("tr", {},
    el("th", { scope: "row", "data-start": new Date(t).toISOString() }, new Date(t).toLocaleString([], fmt)),
    el("td", {}, String(raw.reduce((sum, r) => sum + r[i], 0))))) : [];
  return el("table", { class: "sr", id: "chart-table" },
    el("caption", {}, rows.length ? `Events per ${s.bucket}` : `Events per ${s.bucket}: too many to list; zoom in`),
    el("tbody", {}, rows));
}

/** Snap a dragged instant to its bucket's start (or the next bucket's start for the end). */
function snap(s, ms, up) {
  let i = s.xs.findIndex((t) => t > ms) - 1;
  if (i < 0) i = ms < s.xs[0] ? 0 : s.xs.length - 1;
  if (!up) return s.xs[i];
  return i + 1 < s.xs.length ? s.xs[i + 1] : s.end;
}

const WEEKDAYS = [1, 2, 3, 4, 5, 6, 0];  // Monday first, as /api/heatmap counts

/** Draw /api/heatmap's 7 x 24 counts as an accessible table; each cell's title gives its count. */
export function drawHeatmap(box, grid) {
  const max = Math.max(0, ...grid.flat());
  const names = WEEKDAYS.map((d) => new Date(2024, 0, 7 + d).toLocaleDateString([], { weekday: "short" }));
  const hours = [...Array(24).keys()];
  const hourName = (h) => String(h).padStart(2, "0") + ":00";
  const table = el("table", { class: "heat" },
    el("caption", {}, `Events by weekday and hour, ${TZ} time`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, el("span", { class: "sr" }, "weekday")),
      hours.map((h) => el("th", { scope: "col", "aria-label": hourName(h) }, h % 3 === 0 ? String(h) : "")))),
    el("tbody", {}, grid.map((row, d) => el("tr", {}, el("th", { scope: "row" }, names[d]),
      row.map((n, h) => {
        const level = n && max ? 0.15 + 0.85 * (n / max) : 0;
        const text = `${names[d]} ${hourName(h)}–${hourName((h + 1) % 24)}: ${plural(n, "event")}`;
        return el("td", { title: text, "aria-label": text, "data-day": d, "data-hour": h, "data-count": n,
          style: level ? `--level:${level.toFixed(3)}` : null });
      })))));
  box.replaceChildren(table);
}
