// Shared pieces of the dashboard: API calls with the token, state in the URL, DOM and time helpers.

const COLORS = ["#38bdf8", "#f472b6", "#34d399", "#fbbf24", "#a78bfa", "#fb7185", "#2dd4bf", "#f97316", "#a3e635"];
const KNOWN = { person: 0, car: 1, dog: 3, cat: 4, package: 2, bicycle: 8, truck: 7 };

/** A colour per camera: its place among all cameras (sorted), so no two share one. */
export function cameraColors(cameraIds) {
  const order = new Map([...cameraIds].sort().map((id, i) => [id, COLORS[i % COLORS.length]]));
  return (id) => order.get(id) || colorOf(id);
}

/** The same colour for a label everywhere, on every page load. */
export function colorOf(key) {
  if (key in KNOWN) return COLORS[KNOWN[key]];
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}

// -- talking to the API -------------------------------------------------------------------
const TOKEN_KEY = "camvault-token";
export const token = () => localStorage.getItem(TOKEN_KEY) || "";

/**
 * URLs for requests that cannot carry a header (img, EventSource). They are sent as they are:
 * the session cookie (set by POST /api/session once a token works) authorizes them, so a
 * token never appears in a URL, a log or a browser history.
 */
export function withToken(url) {
  return url;
}

let session = { token: "", ready: Promise.resolve() };
/** Trade a working token for the HttpOnly session cookie (once per token). */
function startSession(t) {
  if (session.token !== t) {
    const ready = fetch("/api/session", { method: "POST", headers: { Authorization: "Bearer " + t } })
      .then((res) => { if (!res.ok) session = { token: "", ready: Promise.resolve() }; })
      .catch(() => { session = { token: "", ready: Promise.resolve() }; });
    session = { token: t, ready };
  }
  return session.ready;
}

export class ApiError extends Error {
  constructor(message, status, fields = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
  }
}

/** Call the API; a 401 asks for a token (once for all waiting calls) and retries. */
export async function api(path, options = {}) {
  const sent = token();
  const headers = Object.assign({}, options.headers || {});
  if (sent) headers.Authorization = "Bearer " + sent;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = Object.assign({}, options, { body: JSON.stringify(options.json) });
  }
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) {
    if (declined && token() === sent) throw new ApiError("a token is needed: use the Token button at the top", 401);
    if (token() === sent) await askToken(Boolean(sent));  // else: a new token arrived meanwhile
    return api(path, options);
  }
  if (res.ok && sent) await startSession(sent);
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const list = Array.isArray(body.detail) ? body.detail : [];
    const detail = list.length ? list.map((d) => `${d.field}: ${d.message}`).join("; ") : body.detail;
    throw new ApiError(detail || `${res.status} ${res.statusText}`, res.status, list.map((d) => d.field));
  }
  return res.status === 204 ? null : res.json();
}

let asking = null;
let declined = false;  // the dialog was cancelled: do not ask again until the Token button is used
document.getElementById("token-cancel").addEventListener("click", () => document.getElementById("token-dialog").close("cancel"));
/** Show the token dialog (with an error when the last token was refused); resolves once saved. */
export function askToken(refused = false) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  const error = document.getElementById("token-error");
  error.hidden = !refused;
  error.textContent = refused
    ? "camvault refused that token. Use the token the server was started with (--token or CAMVAULT_TOKEN)."
    : "";
  asking = new Promise((resolve, reject) => {
    dialog.addEventListener("close", () => {
      asking = null;
      const value = input.value.trim();
      declined = !(dialog.returnValue === "ok" && value);
      document.getElementById("token-button").hidden = !declined;
      if (!declined) {
        localStorage.setItem(TOKEN_KEY, value);
        window.dispatchEvent(new Event("camvault-token"));
        resolve();
      } else reject(new ApiError("a token is needed to read this camvault", 401));
    }, { once: true });
    input.value = "";
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/** Encode parameters, leaving out empty ones. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.append(k, v);
  return q.toString();
}

// -- state in the URL: #/<view>?<filters> ---------------------------------------------------
// The filters come from GET /api/filters (camvault/filters.py): name, type, label, help, choices.
export let FILTERS = [];
export let FILTER_DEFS = [];
let loading = null;

/** Ask the server for its filters once per page load (the form and the URL keys follow them). */
export function loadFilters() {
  loading ??= api("/api/filters").then((defs) => {
    FILTER_DEFS = defs;
    FILTERS = defs.map((d) => d.name);
    return defs;
  }).catch((err) => { loading = null; throw err; });
  return loading;
}

/** Split the location hash into its path and parameters. */
export function parseHash() {
  const hash = (location.hash || "#/").slice(1);
  const at = hash.indexOf("?");
  const path = at < 0 ? hash : hash.slice(0, at);
  return { path: path || "/", params: new URLSearchParams(at < 0 ? "" : hash.slice(at + 1)) };
}

/** The filters named in URL parameters. */
export function filtersOf(params) {
  const out = {};
  for (const name of FILTERS) if (params.get(name)) out[name] = params.get(name);
  return out;
}

/** A hash for a view with parameters. */
export function hashFor(path, params = {}) {
  const q = query(params);
  return "#" + path + (q ? "?" + q : "");
}

/** Record the current view's state in the URL without reloading it (bookmarkable). */
export function replaceHash(path, params) {
  const next = hashFor(path, params);
  if (next !== location.hash) history.replaceState(null, "", next);
}

// -- DOM and time ---------------------------------------------------------------------------
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

export const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
export const short = (iso) => new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
export const labelsOf = (ev) => [...new Set(ev.detected_objects.map((o) => o.label))];
export const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
export const eventHash = (id, filters = {}) => hashFor("/event/" + encodeURIComponent(id), filters);

/** A short status message at the bottom of the screen. */
export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

export function thumb(ev) {
  const box = el("div", { class: "thumb" });
  if (ev.thumbnail_url) {
    box.append(el("img", { src: withToken(ev.thumbnail_url), alt: `${ev.camera_id} at ${when(ev.timestamp)}`,
      loading: "lazy", decoding: "async" }));
  } else box.append("no thumbnail");
  return box;
}

export function chips(ev) {
  const out = labelsOf(ev).map((l) => el("span", { class: "chip", style: `border-color:${colorOf(l)}` }, l));
  if (ev.person_name) out.push(el("span", { class: "chip person" }, ev.person_name));
  if (ev.door_action) out.push(el("span", { class: "chip " + (ev.unlock_granted ? "granted" : "denied") }, ev.door_action));
  if (ev.retain) out.push(el("span", { class: "chip kept", title: "kept forever" }, "kept"));
  return el("div", { class: "chips" }, out);
}
