// One event: its frame with the detection boxes, its fields, keep forever, delete, and the
// previous (newer) / next (older) event within the list's filters (arrow keys too).

import { api, chips, colorOf, el, eventHash, filtersOf, hashFor, loadFilters, query, toast, when, withToken } from "./core.js";

/** The neighbour of an event in the newest-first list for these filters: newer or older. */
async function neighbour(ev, filters, newer) {
  const t = Date.parse(ev.timestamp);
  const bound = newer
    ? { since: new Date(Math.max(t, filters.since ? Date.parse(filters.since) : t)).toISOString(), order: "oldest" }
    : { until: new Date(Math.min(t + 1, filters.until ? Date.parse(filters.until) : t + 1)).toISOString() };
  const page = await api("/api/events?" + query(Object.assign({}, filters, bound, { limit: 20 })));
  const list = page.events;
  const at = list.findIndex((e) => e.event_id === ev.event_id);
  if (at >= 0) return list[at + 1] || null;
  return list.find((e) => (newer ? Date.parse(e.timestamp) > t : Date.parse(e.timestamp) < t)) || null;
}

/** Render the event page; returns a key handler for the arrow keys. */
export async function showEvent(view, id, params) {
  await loadFilters().catch(() => {});  // the list's filters, for previous / next
  const filters = filtersOf(params);
  const back = el("a", { class: "back", href: hashFor("/", Object.fromEntries(params)) }, "← events");
  view.replaceChildren(back, el("p", { class: "empty" }, "loading…"));
  let ev;
  try { ev = await api(`/api/events/${encodeURIComponent(id)}`); } catch (err) {
    view.replaceChildren(back, el("p", { class: "empty" }, err.message));
    return null;
  }
  const frame = el("div", { class: "frame card" });
  if (ev.thumbnail_url) {
    const img = el("img", { src: withToken(ev.thumbnail_url), alt: `frame from ${ev.camera_id} at ${when(ev.timestamp)}` });
    frame.append(img);
    img.addEventListener("load", () => drawBoxes(frame, img, ev));
  } else frame.append(el("div", { class: "thumb" }, "no thumbnail"));
  const row = (k, v) => (v === null || v === undefined || v === "" ? null : el("tr", {}, el("th", {}, k), el("td", {}, String(v))));
  // values that are list filters too: each links to the events that share it
  const linkRow = (k, items) => (!items.length ? null : el("tr", {}, el("th", {}, k), el("td", {},
    items.flatMap(([text, filter], i) => [i ? ", " : "", el("a", { href: hashFor("/", filter) }, text)]))));
  const fields = el("table", {},
    row("time", when(ev.timestamp)), row("camera", ev.camera_id), row("event id", ev.event_id),
    row("motion confidence", ev.motion_confidence), row("person", ev.person_name),
    row("face confidence", ev.face_confidence), row("face distance", ev.face_distance),
    row("unlock granted", ev.unlock_granted), row("door action", ev.door_action),
    row("ended", ev.end_time ? when(ev.end_time) : (ev.end_time === null && ev.source ? "in progress" : null)),
    linkRow("zones", (ev.zones || []).map((z) => [z, { zone: z }])),
    linkRow("licence plate", ev.license_plate ? [[ev.license_plate, { license_plate: ev.license_plate }]] : []),
    row("source", ev.source),
    row("recording", ev.recording_id), row("image", ev.image_path), row("log", ev.json_log_path),
    Object.keys(ev.metadata).length ? row("metadata", JSON.stringify(ev.metadata)) : null);
  const detections = !ev.detected_objects.length ? el("p", { class: "muted" }, "No detections.") : el("table", { class: "detections" },
    el("tr", {}, el("th", {}, "label"), el("th", {}, "confidence"), el("th", {}, "box")),
    ev.detected_objects.map((o) => el("tr", {}, el("td", {}, o.label), el("td", {}, o.confidence.toFixed(2)),
      el("td", {}, o.bbox ? o.bbox.map((v) => +v.toFixed(3)).join(", ") : "–"))));

  const prev = el("a", { class: "button ghost", id: "prev", "aria-disabled": "true", title: "newer event (←)" }, "← newer");
  const next = el("a", { class: "button ghost", id: "next", "aria-disabled": "true", title: "older event (→)" }, "older →");
  const keep = el("button", { type: "button", id: "keep", "aria-pressed": String(ev.retain) });
  const showKeep = () => {
    keep.setAttribute("aria-pressed", String(ev.retain));
    keep.textContent = ev.retain ? "Kept forever" : "Keep forever";
    keep.title = ev.retain ? "never removed by purge; click to allow removal again" : "never remove this event when purging";
  };
  showKeep();
  keep.addEventListener("click", async () => {
    keep.disabled = true;
    try { ev = await api(`/api/events/${encodeURIComponent(ev.event_id)}`, { method: "PATCH", json: { retain: !ev.retain } }); showKeep(); toast(ev.retain ? "Kept forever" : "May be purged again"); }
    catch (err) { toast(err.message); }
    finally { keep.disabled = false; }
  });
  const remove = el("button", { type: "button", id: "delete", class: "danger" }, "Delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete this event from ${ev.camera_id} at ${when(ev.timestamp)}, with its thumbnail? This cannot be undone.`)) return;
    try {
      await api(`/api/events/${encodeURIComponent(ev.event_id)}`, { method: "DELETE" });
      toast("Event deleted");
      location.hash = next.getAttribute("href") || prev.getAttribute("href") || back.getAttribute("href");
    } catch (err) { toast(err.message); }
  });

  view.replaceChildren(
    el("nav", { class: "event-bar", "aria-label": "event" }, back, el("span", { class: "spacer" }), prev, next, keep, remove),
    el("div", { class: "detail" }, frame,
      el("div", { class: "card fields" }, el("h1", {}, ev.llm_description || `${ev.camera_id} event`),
        chips(ev), fields, el("h2", { style: "margin-top:1rem" }, "Detections"), detections)));

  const link = (a, other) => {
    if (!other) return;
    a.href = eventHash(other.event_id, Object.fromEntries(params));
    a.removeAttribute("aria-disabled");
  };
  Promise.all([neighbour(ev, filters, true), neighbour(ev, filters, false)])
    .then(([newer, older]) => { link(prev, newer); link(next, older); })
    .catch((err) => toast(err.message));

  return (e) => {
    const target = e.key === "ArrowLeft" ? prev : e.key === "ArrowRight" ? next : null;
    if (target && target.getAttribute("href")) { e.preventDefault(); location.hash = target.getAttribute("href"); }
  };
}

function drawBoxes(frame, img, ev) {
  const normalized = ev.detected_objects.every((o) => !o.bbox || Math.max(...o.bbox) <= 1);
  const sx = normalized ? 1 : 1 / img.naturalWidth, sy = normalized ? 1 : 1 / img.naturalHeight;
  const tall = img.naturalHeight / img.naturalWidth;  // the frame's height in frame widths
  for (const o of ev.detected_objects) {
    if (!o.bbox) continue;
    const [x1, y1, x2, y2] = o.bbox.map((v, i) => v * (i % 2 ? sy : sx));
    // the label grows from the box's outer end toward the frame's middle; --top (the box's top in
    // frame widths) lets the CSS keep it below the frame's top edge
    frame.append(el("div", { class: x1 + x2 > 1 ? "box end" : "box", title: `${o.label} ${o.confidence.toFixed(2)}`,
      style: `--c:${colorOf(o.label)};--top:${y1 * tall};left:${x1 * 100}%;top:${y1 * 100}%;width:${(x2 - x1) * 100}%;height:${(y2 - y1) * 100}%` },
      el("span", {}, `${o.label} ${Math.round(o.confidence * 100)}%`)));
  }
}
