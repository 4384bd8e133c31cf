// camvault dashboard: routes #/ (events), #/event/<id> and #/persons; state lives in the URL.

import { api, askToken, parseHash } from "./js/core.js";
import { live, showEvents, zoomOut } from "./js/events.js";
import { showEvent } from "./js/event.js";
import { showPersons } from "./js/persons.js";

const view = document.getElementById("view");
let onKey = null;

async function route() {
  const { path, params } = parseHash();
  for (const a of document.querySelectorAll("[data-nav]")) {
    const on = path.startsWith("/persons") ? a.dataset.nav === "persons" : a.dataset.nav === "events";
    a.classList.toggle("on", on);
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  onKey = null;
  if (path.startsWith("/event/")) onKey = await showEvent(view, decodeURIComponent(path.slice(7)), params);
  else if (path.startsWith("/persons")) await showPersons(view);
  else showEvents(view, params);
}

document.addEventListener("keydown", (e) => {
  if (!onKey || e.altKey || e.ctrlKey || e.metaKey || e.target.closest("input, select, textarea, dialog")) return;
  onKey(e);
});
view.addEventListener("click", (e) => { if (e.target.closest("#zoom-out")) zoomOut(); });
window.addEventListener("hashchange", async () => {
  await route();
  window.scrollTo(0, 0);
  view.focus({ preventScroll: true });  // screen readers and keyboards start at the new view
});
window.addEventListener("camvault-token", live);  // a new token: reopen the live stream with it
// after a cancelled token dialog: ask again on demand, then load the view with the token
document.getElementById("token-button").addEventListener("click", () => askToken().then(route, () => {}));

async function boot() {
  try { await api("/api/cameras"); } catch { /* the views show why */ }
  await route();
  live();
}
boot();
