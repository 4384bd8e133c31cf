// camvault dashboard: events (filters, chart, endless list, live), one event, persons.
"use strict";

const COLORS = ["#38bdf8", "#f472b6", "#34d399", "#fbbf24", "#a78bfa", "#fb7185", "#2dd4bf", "#f97316", "#a3e635"];
const state = { filters: {}, bucket: "hour", cursor: null, loading: false, done: false, stream: null };
const view = document.getElementById("view");
const KNOWN = { person: 0, car: 1, dog: 3, cat: 4, package: 2, bicycle: 8, truck: 7 };
function colorOf(key) {  // the same colour for a label everywhere, on every page load
  if (key in KNOWN) return COLORS[KNOWN[key]];
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}

// -- talking to the API -------------------------------------------------------------------
const token = () => localStorage.getItem("camvault-token") || "";
function withToken(url) {
  const t = token();
  if (!t) return url;
  return url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(t);
}
async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token()) headers.Authorization = "Bearer " + token();
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) { await askToken(); return api(path, options); }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => `${d.field}: ${d.message}`).join("; ") : body.detail;
    throw new Error(detail || res.statusText);
  }
  return res.status === 204 ? null : res.json();
}
function askToken() {
  const dialog = document.getElementById("token-dialog");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      localStorage.setItem("camvault-token", document.getElementById("token-input").value.trim());
      resolve();
    }, { once: true });
    dialog.showModal();
  });
}
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.append(k, v);
  return q.toString();
}

// -- small helpers ------------------------------------------------------------------------
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};
const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
const short = (iso) => new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const localInput = (value) => (value ? new Date(value).toISOString() : "");
const labelsOf = (ev) => [...new Set(ev.detected_objects.map((o) => o.label))];

function thumb(ev) {
  const box = el("div", { class: "thumb" });
  if (ev.thumbnail_url) {
    box.append(el("img", { src: withToken(`/api/events/${encodeURIComponent(ev.event_id)}/thumbnail`),
      alt: `${ev.camera_id} at ${when(ev.timestamp)}`, loading: "lazy" }));
  } else box.append("no thumbnail");
  return box;
}
function chips(ev) {
  const out = labelsOf(ev).map((l) => el("span", { class: "chip", style: `border-color:${colorOf(l)}` }, l));
  if (ev.person_name) out.push(el("span", { class: "chip person" }, ev.person_name));
  if (ev.door_action) out.push(el("span", { class: "chip " + (ev.unlock_granted ? "granted" : "denied") }, ev.door_action));
  return el("div", { class: "chips" }, out);
}
function card(ev, fresh = false) {
  return el("a", { class: "card event" + (fresh ? " fresh" : ""), href: `#/event/${encodeURIComponent(ev.event_id)}`,
    "data-event-id": ev.event_id },
    thumb(ev),
    el("div", { class: "body" },
      el("div", { class: "meta" }, el("span", { class: "cam" }, ev.camera_id), el("time", { datetime: ev.timestamp, title: when(ev.timestamp) }, short(ev.timestamp))),
      chips(ev),
      ev.llm_description ? el("p", { class: "desc" }, ev.llm_description) : null));
}

// -- events view --------------------------------------------------------------------------
async function showEvents() {
  view.replaceChildren(document.getElementById("events-template").content.cloneNode(true));
  const form = view.querySelector(".filters");
  for (const [name, value] of Object.entries(state.filters)) {
    const input = form.querySelector(`[name=${name}]`);
    if (input) input.value = name === "since" || name === "until" ? toLocalInput(value) : value;
  }
  form.addEventListener("change", () => { readFilters(form); reload(); });
  form.querySelector("[name=text]").addEventListener("keydown", (e) => { if (e.key === "Enter") { readFilters(form); reload(); } });
  view.querySelector("#clear").addEventListener("click", () => { state.filters = {}; showEvents(); });
  for (const b of view.querySelectorAll("[data-bucket]")) {
    b.classList.toggle("on", b.dataset.bucket === state.bucket);
    b.addEventListener("click", () => { state.bucket = b.dataset.bucket; showEvents(); });
  }
  fillChoices(form);
  new IntersectionObserver((entries) => { if (entries[0].isIntersecting) more(); }, { rootMargin: "400px" })
    .observe(view.querySelector("#sentinel"));
  reload();
}
function toLocalInput(iso) {
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
function readFilters(form) {
  const f = {};
  for (const input of form.querySelectorAll("[name]")) {
    if (!input.value) continue;
    f[input.name] = input.name === "since" || input.name === "until" ? localInput(input.value) : input.value.trim();
  }
  state.filters = f;
}
async function fillChoices(form) {
  const [cameras, persons, labels] = await Promise.all([
    api("/api/cameras"), api("/api/persons"), api("/api/histogram?" + query({ bucket: "day", by: "label" })),
  ]);
  const cam = form.querySelector("[name=camera_id]");
  for (const c of cameras) cam.append(el("option", { value: c.camera_id }, c.camera_id));
  const lab = form.querySelector("[name=label]");
  for (const l of [...new Set(labels.map((b) => b.key))].sort()) lab.append(el("option", { value: l }, l));
  view.querySelector("#person-list").replaceChildren(...persons.map((p) => el("option", { value: p.name })));
  cam.value = state.filters.camera_id || ""; lab.value = state.filters.label || "";
}
async function reload() {
  state.cursor = null; state.done = false;
  view.querySelector("#grid").replaceChildren();
  view.querySelector("#new-pill").hidden = true;
  await Promise.all([more(), chart(), counted()]);
}
async function counted() {
  const { count } = await api("/api/count?" + query(state.filters));
  const node = view.querySelector("#count");
  if (node) node.textContent = `${count.toLocaleString()} event${count === 1 ? "" : "s"}`;
}
async function more() {
  if (state.loading || state.done) return;
  state.loading = true;
  const sentinel = view.querySelector("#sentinel");
  try {
    const page = await api("/api/events?" + query(Object.assign({ limit: 48, cursor: state.cursor }, state.filters)));
    const grid = view.querySelector("#grid");
    if (!grid) return;
    grid.append(...page.events.map((ev) => card(ev)));
    state.cursor = page.next_cursor; state.done = !page.next_cursor;
    if (state.done) sentinel.textContent = grid.children.length ? "that is all" : "";
    if (!grid.children.length) grid.append(el("p", { class: "empty" }, "No events match these filters."));
  } catch (err) {
    sentinel.textContent = err.message;
    state.done = true;
  } finally { state.loading = false; }
}

async function chart() {
  const since = state.filters.since || new Date(Date.now() - (state.bucket === "hour" ? 2 : 14) * 86400000).toISOString();
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const params = Object.assign({}, state.filters, { bucket: state.bucket, by: "label", since, tz });
  const buckets = await api("/api/histogram?" + query(params));
  const box = view.querySelector("#chart"), legend = view.querySelector("#legend");
  if (!box) return;
  view.querySelector("#bucket-name").textContent = state.bucket;
  const starts = [...new Set(buckets.map((b) => b.start))].sort();
  const keys = [...new Set(buckets.map((b) => b.key))].sort();
  const totals = new Map(starts.map((s) => [s, 0]));
  for (const b of buckets) totals.set(b.start, totals.get(b.start) + b.count);
  const max = Math.max(1, ...totals.values());
  const W = 1000, H = 150, pad = 18, bw = (W - pad) / Math.max(starts.length, 1);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("preserveAspectRatio", "none");
  starts.forEach((start, i) => {
    let y = H - pad;
    for (const key of keys) {
      const b = buckets.find((x) => x.start === start && x.key === key);
      if (!b) continue;
      const h = (b.count / max) * (H - pad - 6);
      const r = document.createElementNS(ns, "rect");
      r.setAttribute("x", pad + i * bw + 1); r.setAttribute("width", Math.max(bw - 2, 1));
      r.setAttribute("y", y - h); r.setAttribute("height", h); r.setAttribute("fill", colorOf(key)); r.setAttribute("rx", 1.5);
      const t = document.createElementNS(ns, "title"); t.textContent = `${when(start)} · ${key}: ${b.count}`; r.append(t);
      svg.append(r); y -= h;
    }
  });
  const axis = document.createElementNS(ns, "text");
  axis.setAttribute("class", "axis"); axis.setAttribute("x", 2); axis.setAttribute("y", 10); axis.textContent = String(max);
  svg.append(axis);
  box.replaceChildren(starts.length ? svg : el("p", { class: "empty" }, "nothing in this range"));
  legend.replaceChildren(...keys.map((k) => el("span", {}, el("i", { style: `background:${colorOf(k)}` }), k)));
}

function matchesFilters(ev) {
  const f = state.filters;
  if (f.camera_id && ev.camera_id !== f.camera_id) return false;
  if (f.label && !labelsOf(ev).includes(f.label)) return false;
  if (f.person_name && ev.person_name !== f.person_name) return false;
  if (f.since && ev.timestamp < f.since) return false;
  if (f.until && ev.timestamp >= f.until) return false;
  return !f.text;
}
function live() {
  if (state.stream) return;
  const badge = document.getElementById("live");
  const source = new EventSource(withToken("/api/stream"));
  state.stream = source;
  source.addEventListener("open", () => badge.classList.add("on"));
  source.addEventListener("error", () => badge.classList.remove("on"));
  source.addEventListener("event", (msg) => {
    const ev = JSON.parse(msg.data);
    const grid = view.querySelector("#grid");
    if (!grid) return;
    if (matchesFilters(ev)) {
      grid.querySelector(".empty")?.remove();
      grid.prepend(card(ev, true));
      counted();
    } else if (state.filters.text) {
      const pill = view.querySelector("#new-pill");
      pill.hidden = false; pill.textContent = "new events — refresh"; pill.onclick = reload;
    }
  });
}

// -- one event ----------------------------------------------------------------------------
async function showEvent(id) {
  view.replaceChildren(el("p", { class: "empty" }, "loading…"));
  let ev;
  try { ev = await api(`/api/events/${encodeURIComponent(id)}`); } catch (err) {
    view.replaceChildren(el("a", { class: "back", href: "#/" }, "← events"), el("p", { class: "empty" }, err.message));
    return;
  }
  const frame = el("div", { class: "frame card" });
  if (ev.thumbnail_url) {
    const img = el("img", { src: withToken(`/api/events/${encodeURIComponent(ev.event_id)}/thumbnail`), alt: "event frame" });
    frame.append(img);
    img.addEventListener("load", () => drawBoxes(frame, img, ev));
  } else frame.append(el("div", { class: "thumb" }, "no thumbnail"));
  const row = (k, v) => (v === null || v === undefined || v === "" ? null : el("tr", {}, el("th", {}, k), el("td", {}, String(v))));
  const fields = el("table", {},
    row("time", when(ev.timestamp)), row("camera", ev.camera_id), row("event id", ev.event_id),
    row("motion confidence", ev.motion_confidence), row("person", ev.person_name),
    row("face confidence", ev.face_confidence), row("face distance", ev.face_distance),
    row("unlock granted", ev.unlock_granted), row("door action", ev.door_action),
    row("recording", ev.recording_id), row("image", ev.image_path), row("log", ev.json_log_path),
    row("kept forever", ev.retain ? "yes" : null),
    Object.keys(ev.metadata).length ? row("metadata", JSON.stringify(ev.metadata)) : null);
  const detections = el("table", { class: "detections" },
    el("tr", {}, el("th", {}, "label"), el("th", {}, "confidence"), el("th", {}, "box")),
    ev.detected_objects.map((o) => el("tr", {}, el("td", {}, o.label), el("td", {}, o.confidence.toFixed(2)),
      el("td", {}, o.bbox ? o.bbox.map((v) => +v.toFixed(3)).join(", ") : "–"))));
  view.replaceChildren(
    el("a", { class: "back", href: "#/" }, "← events"),
    el("div", { class: "detail" }, frame,
      el("div", { class: "card fields" }, el("h1", {}, ev.llm_description || `${ev.camera_id} event`),
        chips(ev), fields, el("h2", { style: "margin-top:1rem" }, "Detections"), detections)));
}
function drawBoxes(frame, img, ev) {
  const normalized = ev.detected_objects.every((o) => !o.bbox || Math.max(...o.bbox) <= 1);
  const sx = normalized ? 1 : 1 / img.naturalWidth, sy = normalized ? 1 : 1 / img.naturalHeight;
  for (const o of ev.detected_objects) {
    if (!o.bbox) continue;
    const [x1, y1, x2, y2] = o.bbox;
    frame.append(el("div", { class: "box", title: `${o.label} ${o.confidence.toFixed(2)}`,
      style: `--c:${colorOf(o.label)};left:${x1 * sx * 100}%;top:${y1 * sy * 100}%;width:${(x2 - x1) * sx * 100}%;height:${(y2 - y1) * sy * 100}%` },
      el("span", {}, `${o.label} ${Math.round(o.confidence * 100)}%`)));
  }
}

// -- persons ------------------------------------------------------------------------------
async function showPersons() {
  const persons = await api("/api/persons");
  const rows = persons.map((p) => {
    const toggle = el("input", { type: "checkbox", checked: p.authorized, "aria-label": `${p.name} may unlock` });
    toggle.addEventListener("change", async () => {
      try { await api(`/api/persons/${encodeURIComponent(p.name)}`, { method: "PUT",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ authorized: toggle.checked, notes: p.notes }) }); }
      catch (err) { toggle.checked = !toggle.checked; alert(err.message); }
    });
    return el("tr", {}, el("td", {}, el("a", { href: "#/", onclick: () => { state.filters = { person_name: p.name }; } }, p.name)),
      el("td", {}, el("label", { class: "switch" }, toggle, "may unlock")), el("td", {}, p.notes || ""),
      el("td", {}, p.updated_at ? when(p.updated_at) : ""));
  });
  view.replaceChildren(el("section", { class: "card persons" }, el("h1", { style: "margin:.5rem 0 1rem" }, "Persons"),
    persons.length ? el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "lock"), el("th", {}, "notes"), el("th", {}, "updated")), rows)
      : el("p", { class: "empty" }, "No known persons yet. Add them with PUT /api/persons/{name}.")));
}

// -- routing ------------------------------------------------------------------------------
function route() {
  const hash = location.hash || "#/";
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("on", hash === "#/" ? a.dataset.nav === "events" : hash.startsWith("#/" + a.dataset.nav));
  if (hash.startsWith("#/event/")) return showEvent(decodeURIComponent(hash.slice(8)));
  if (hash.startsWith("#/persons")) return showPersons();
  return showEvents();
}
window.addEventListener("hashchange", route);
route().then(live);
