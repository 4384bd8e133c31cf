// Persons: who is known, who may unlock, notes; add, edit and remove them.

import { api, el, hashFor, toast, when } from "./core.js";

const path = (name) => `/api/persons/${encodeURIComponent(name)}`;

/** Render the persons page. */
export async function showPersons(view) {
  const error = el("p", { class: "form-error", role: "alert", hidden: true });
  const name = el("input", { id: "person-name", name: "name", required: true, maxlength: 128, autocomplete: "off" });
  const may = el("input", { id: "person-authorized", name: "authorized", type: "checkbox" });
  const notes = el("input", { id: "person-notes", name: "notes", autocomplete: "off", placeholder: "e.g. owner, dog walker" });
  const save = el("button", { class: "primary", type: "submit" }, "Add person");
  const cancel = el("button", { class: "ghost", type: "button", hidden: true }, "Cancel");
  const form = el("form", { class: "person-form", id: "person-form", "aria-label": "add or edit a person" },
    el("label", {}, "Name", name),
    el("label", { class: "switch" }, may, "may unlock"),
    el("label", { class: "grow" }, "Notes", notes),
    el("div", { class: "actions" }, save, cancel), error);
  const list = el("div", { id: "persons-list" });
  view.replaceChildren(el("section", { class: "card persons" }, el("h1", {}, "Persons"), form, list));

  const editing = (person) => {
    name.value = person ? person.name : "";
    name.readOnly = Boolean(person);
    may.checked = Boolean(person && person.authorized);
    notes.value = person ? person.notes || "" : "";
    save.textContent = person ? `Save ${person.name}` : "Add person";
    cancel.hidden = !person;
    error.hidden = true;
    (person ? notes : name).focus();
  };
  cancel.addEventListener("click", () => editing(null));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const who = name.value.trim();
    if (!who) return;
    try {
      await api(path(who), { method: "PUT", json: { authorized: may.checked, notes: notes.value.trim() || null } });
      toast(`Saved ${who}`);
      editing(null);
      await render();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });

  async function render() {
    let persons;
    try { persons = await api("/api/persons"); } catch (err) {
      list.replaceChildren(el("p", { class: "empty" }, err.message));
      return;
    }
    if (!persons.length) {
      list.replaceChildren(el("p", { class: "empty" }, "No known persons yet. Add the people your face recognition knows."));
      return;
    }
    const rows = persons.map((p) => {
      const toggle = el("input", { type: "checkbox", checked: p.authorized, "aria-label": `${p.name} may unlock` });
      toggle.addEventListener("change", async () => {
        try { await api(path(p.name), { method: "PUT", json: { authorized: toggle.checked, notes: p.notes } }); p.authorized = toggle.checked; }
        catch (err) { toggle.checked = !toggle.checked; toast(err.message); }
      });
      const edit = el("button", { type: "button", class: "ghost small", "aria-label": `edit ${p.name}` }, "Edit");
      edit.addEventListener("click", () => editing(p));
      const remove = el("button", { type: "button", class: "ghost small danger", "aria-label": `remove ${p.name}` }, "Remove");
      remove.addEventListener("click", async () => {
        if (!confirm(`Remove ${p.name}? Their events stay; the lock will no longer know them.`)) return;
        try { await api(path(p.name), { method: "DELETE" }); toast(`Removed ${p.name}`); await render(); }
        catch (err) { toast(err.message); }
      });
      return el("tr", { "data-person": p.name },
        el("td", { class: "name" }, el("a", { href: hashFor("/", { person_name: p.name }) }, p.name)),
        el("td", { class: "lock" }, el("label", { class: "switch" }, toggle, "may unlock")),
        el("td", { class: "notes" }, p.notes || ""),
        el("td", { class: "updated" }, p.updated_at ? el("time", { datetime: p.updated_at }, when(p.updated_at)) : ""),
        el("td", { class: "row-actions" }, edit, remove));
    });
    list.replaceChildren(el("table", { class: "persons-table" },
      el("thead", {}, el("tr", {}, ["name", "lock", "notes", "updated", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
  }
  await render();
}
