// The events view: filters (kept in the URL), period line, chart, heatmap, endless list, live.

import { api, cameraColors, chips, el, eventHash, FILTER_DEFS, filtersOf, loadFilters, plural, query, replaceHash, short, thumb, when, withToken } from "./core.js";
import { chartSeries, describePeriod, drawChart, drawHeatmap, TZ } from "./chart.js";

const PAGE = 48;
const state = {
  filters: {}, bucket: "auto", cursor: null, done: false, loading: false,
  gen: 0, ctrl: null, key: null, count: null, view: null, refresh: null,
  following: false, stream: null, streamUrl: null,
};
const $ = (sel) => state.view.querySelector(sel);
let cameraList = null;  // asked once per page load: the filter's choices and the chart's colours
const cameras = () => (cameraList ??= api("/api/cameras").catch((err) => { cameraList = null; throw err; }));

function card(ev, fresh = false) {
  return el("a", { class: "card event" + (fresh ? " fresh" : ""), href: eventHash(ev.event_id, state.filters),
    "data-event-id": ev.event_id },
    thumb(ev),
    el("div", { class: "body" },
      el("div", { class: "meta" }, el("span", { class: "cam" }, ev.camera_id),
        el("time", { datetime: ev.timestamp, title: when(ev.timestamp) }, short(ev.timestamp))),
      chips(ev),
      ev.llm_description ? el("p", { class: "desc" }, ev.llm_description) : null));
}

const toLocalInput = (iso) => {
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};
const urlParams = () => Object.assign({}, state.filters, state.bucket === "auto" ? {} : { bucket: state.bucket });

const isTime = (name) => FILTER_DEFS.some((d) => d.name === name && d.type === "time");

/** One form field for a filter of GET /api/filters: its control follows its type. */
function field(def) {
  const attrs = { name: def.name, title: def.help };
  let control;
  if (def.type === "flag") {
    control = el("select", attrs, el("option", { value: "" }, def.placeholder || "any"),
      el("option", { value: "true" }, "yes"), el("option", { value: "false" }, "no"));
  } else if (def.repeats && def.choices) {
    control = el("select", attrs, el("option", { value: "" }, def.placeholder || "all"));
  } else if (def.type === "time") {
    control = el("input", Object.assign(attrs, { type: "datetime-local" }));
  } else if (def.type === "number") {
    control = el("input", Object.assign(attrs, { type: "number", min: def.minimum, max: def.maximum,
      step: "0.05", inputmode: "decimal", placeholder: def.placeholder }));
  } else if (def.type === "search") {
    control = el("input", Object.assign(attrs, { type: "search", placeholder: def.placeholder,
      "aria-describedby": "filter-error" }));
  } else {
    const list = el("datalist", { id: `${def.name}-list` },
      (def.choices ? [] : def.examples).map((v) => el("option", { value: v })));
    control = el("input", Object.assign(attrs, { list: list.id, placeholder: def.placeholder, autocomplete: "off" }));
    return el("label", {}, def.label + " ", control, list);
  }
  return el("label", def.type === "search" ? { class: "grow" } : {}, def.label + " ", control);
}

/** Render the events view for the URL's parameters. */
export async function showEvents(view, params) {
  const at = location.hash;
  let failed = null;
  await loadFilters().catch((err) => { failed = err; });  // asked once per page load
  if (location.hash !== at) return;  // another view was asked for meanwhile
  state.view = view;
  cameraList = null;
  state.filters = filtersOf(params);
  state.bucket = ["hour", "day"].includes(params.get("bucket")) ? params.get("bucket") : "auto";
  view.replaceChildren(document.getElementById("events-template").content.cloneNode(true));
  const form = $("#filters");
  form.prepend(...FILTER_DEFS.map(field));
  for (const [name, value] of Object.entries(state.filters)) {
    const input = form.elements[name];
    if (input) input.value = isTime(name) ? toLocalInput(value) : value;
  }
  form.addEventListener("change", () => apply(form));
  form.addEventListener("submit", (e) => { e.preventDefault(); apply(form); });
  $("#clear").addEventListener("click", () => { form.reset(); apply(form); });
  const toggle = $("#filters-toggle");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    form.classList.toggle("open", open);
  });
  for (const b of view.querySelectorAll("[data-bucket]")) {
    b.addEventListener("click", () => { state.bucket = b.dataset.bucket; state.key = null; apply(form); });
  }
  fillChoices(form);
  new IntersectionObserver((entries) => { if (entries[0].isIntersecting) more(); }, { rootMargin: "400px" })
    .observe($("#sentinel"));
  state.key = null;
  apply(form, false);
  if (failed) showError(failed);
}

function readFilters(form) {
  const f = {};
  for (const input of form.querySelectorAll("[name]")) {
    const value = input.value.trim();
    if (!value) continue;
    f[input.name] = isTime(input.name) ? new Date(value).toISOString() : value;
  }
  return f;
}

/** Load for the form's filters unless exactly these were loaded already (Enter + change). */
function apply(form, read = true) {
  if (read) state.filters = readFilters(form);
  const key = query(urlParams());
  if (key === state.key) return;
  state.key = key;
  replaceHash("/", urlParams());
  const n = Object.keys(state.filters).length;
  $("#filters-toggle").textContent = n ? `Filters · ${n}` : "Filters";
  for (const b of state.view.querySelectorAll("[data-bucket]")) b.setAttribute("aria-pressed", String(b.dataset.bucket === state.bucket));
  follow();  // before the list is asked for: what the list misses, the stream brings
  reload();
}

/** Offer each filter's known values (cameras, labels, persons: where GET /api/filters says). */
async function fillChoices(form) {
  const asked = new Map();  // one request per URL
  const ask = (url) => (url === "/api/cameras" ? cameras() : api(url));
  try {
    await Promise.all(FILTER_DEFS.filter((d) => d.choices).map(async (def) => {
      const { url, field: key } = def.choices;
      if (!asked.has(url)) asked.set(url, ask(url));
      const items = await asked.get(url);
      const values = [...new Set(items.map((item) => item[key]).filter((v) => v !== null && v !== undefined))];
      if (url !== "/api/cameras") values.sort();
      const input = form.elements[def.name];
      if (input.tagName === "SELECT") {
        input.append(...values.map((v) => el("option", { value: v }, v)));
        input.value = state.filters[def.name] || "";
      } else {
        document.getElementById(`${def.name}-list`).replaceChildren(...values.map((v) => el("option", { value: v })));
      }
    }));
  } catch (err) {
    showError(err);
  }
}

/** Start over for the current filters; whatever is still loading for older ones is dropped. */
function reload() {
  state.gen += 1;
  state.ctrl?.abort();
  state.ctrl = new AbortController();
  state.cursor = null;
  state.done = false;
  state.loading = false;
  $("#grid").replaceChildren();
  $("#sentinel").textContent = "loading…";
  showError(null);
  more();
  summary();
}

// still the request of these filters, and the list is still on screen (not left for an event page)
const current = (gen, err) => gen === state.gen && !(err && err.name === "AbortError") && $("#grid") !== null;

/** Load the next page of the list (one at a time, for the current filters only). */
async function more() {
  if (state.loading || state.done || !state.ctrl) return;
  const gen = state.gen;
  state.loading = true;
  try {
    const page = await api("/api/events?" + query(Object.assign({ limit: PAGE, cursor: state.cursor }, state.filters)),
      { signal: state.ctrl.signal });
    if (!current(gen)) return;
    const grid = $("#grid"), sentinel = $("#sentinel");
    const live = new Set([...grid.querySelectorAll(".event.fresh")].map((c) => c.dataset.eventId));
    const cards = document.createDocumentFragment();
    cards.append(...page.events.filter((ev) => !live.has(ev.event_id)).map((ev) => card(ev)));
    grid.append(cards);  // one insertion per page, not one layout per card
    state.cursor = page.next_cursor;
    state.done = !page.next_cursor;
    if (state.done) sentinel.textContent = grid.children.length ? "that is all" : "";
    if (!grid.children.length) grid.append(el("p", { class: "empty" }, "No events match these filters."));
  } catch (err) {
    if (!current(gen, err)) return;
    $("#sentinel").textContent = "";
    state.done = true;
    showError(err);
  } finally {
    if (gen === state.gen) state.loading = false;
  }
  if (current(gen) && !state.done && $("#sentinel").getBoundingClientRect().top < innerHeight + 400) more();
}

/** Count, chart and heatmap for the current filters: /api/count, /api/histogram, /api/heatmap. */
async function summary() {
  const gen = state.gen, signal = state.ctrl.signal;
  const card = $("#summary");
  card.setAttribute("aria-busy", "true");
  const ask = (params) => api("/api/histogram?" + query(Object.assign({}, state.filters, { by: "camera_id", tz: TZ }, params)), { signal });
  try {
    const [{ count }, series, heat, cams] = await Promise.all([
      api("/api/count?" + query(state.filters), { signal }),
      chartSeries(ask, { since: state.filters.since, until: state.filters.until, wanted: state.bucket }),
      api("/api/heatmap?" + query(Object.assign({}, state.filters, { tz: TZ })), { signal }),
      cameras(),
    ]);
    if (!current(gen)) return;
    state.count = count;
    drawChart($("#chart"), $("#legend"), series, cameraColors(cams.map((c) => c.camera_id)), zoom);
    drawHeatmap($("#heatmap"), heat.counts);
    card.classList.remove("stale");
    $("#period").textContent = series && series.xs.length ? `${describePeriod(series)}, ${plural(count, "event")}` : "No events match these filters.";
    $("#zoom-out").hidden = !(state.filters.since || state.filters.until);
    showCount();
  } catch (err) {
    if (!current(gen, err)) return;
    state.count = null;
    card.classList.add("stale");
    $("#period").textContent = "Figures unavailable for these filters.";
    showCount();
    showError(err);
  } finally {
    if (current(gen)) card.removeAttribute("aria-busy");
  }
}

function showCount() {
  $("#count").textContent = state.count === null ? "–" : plural(state.count, "event");
}

/** Show an API error by the search box (or clear it with null). */
function showError(err) {
  const box = $("#filter-error");
  if (!box) return;
  box.hidden = !err;
  box.textContent = err ? err.message : "";
  for (const input of $("#filters").querySelectorAll("[name]")) {
    input.setAttribute("aria-invalid", String(Boolean(err && err.fields?.includes(input.name))));
  }
}

/** Zoom: a dragged range of the chart becomes the since/until filters. */
function zoom(from, to) {
  const form = $("#filters");
  form.elements.since.value = toLocalInput(new Date(from).toISOString());
  form.elements.until.value = toLocalInput(new Date(to).toISOString());
  state.filters = Object.assign(readFilters(form), { since: new Date(from).toISOString(), until: new Date(to).toISOString() });
  apply(form, false);
}

/** Forget since/until (the whole history again). */
export function zoomOut() {
  const form = $("#filters");
  form.elements.since.value = "";
  form.elements.until.value = "";
  apply(form);
}

/** A live event (the stream sends only those matching the filters): on top of the list. */
function onLiveEvent(ev) {
  if (!state.view?.isConnected || !$("#grid")) return;
  if ($(`#grid [data-event-id="${CSS.escape(ev.event_id)}"]`)) return;  // the list has it already
  $("#grid .empty")?.remove();
  $("#grid").prepend(card(ev, true));
  if (state.count !== null) { state.count += 1; showCount(); }
  clearTimeout(state.refresh);
  state.refresh = setTimeout(() => { if (state.view.isConnected && $("#summary")) summary(); }, 2000);
}

/**
 * Follow the events matching the current filters: one stream, reopened when the filters (or,
 * with `again`, the token) change. The badge says when it is open and for which filters.
 */
function follow(again = false) {
  if (!state.following) return;  // live() has not started yet: the token is not known
  const filters = query(state.filters);
  const url = withToken("/api/stream" + (filters ? "?" + filters : ""));
  const open = state.stream && state.stream.readyState !== EventSource.CLOSED;
  if (open && !again && url === state.streamUrl) return;
  state.stream?.close();
  const badge = document.getElementById("live");
  badge.classList.remove("on");
  badge.title = "live updates off";
  delete badge.dataset.filters;
  const source = new EventSource(url);
  state.stream = source;
  state.streamUrl = url;
  source.addEventListener("open", () => {
    if (state.stream !== source) return;
    badge.classList.add("on");
    badge.title = filters ? "live updates on, for these filters" : "live updates on";
    badge.dataset.filters = filters;
  });
  source.addEventListener("error", () => {
    if (state.stream !== source) return;
    badge.classList.remove("on");
    badge.title = "live updates off";
    if (source.readyState === EventSource.CLOSED) {
      // refused (401) or the server went away: check access (asks for a token if needed), retry
      // unless a stream has been opened meanwhile (a new token reopens it too, app.js): closing
      // an open stream for a new one would drop the events committed in between
      state.stream = null;
      const retry = () => { if (!state.stream) live(); };
      setTimeout(async () => {
        try { await api("/api/cameras"); retry(); }
        catch (err) { if (err.status !== 401) setTimeout(retry, 5000); }
      }, 1000);
    }
  });
  source.addEventListener("event", (msg) => { if (state.stream === source) onLiveEvent(JSON.parse(msg.data)); });
}

/** Follow new events (after the token, if any, is known); reopen after a refused token. */
export function live() {
  state.following = true;
  follow(true);
}
