// Client keys: create (the secret shown once), revoke, edit limits, see when each was last used.
"use strict";

(() => {
  const { el, request, attempt } = Panel;
  const $ = (id) => document.getElementById(id);
  const models = (text) => {
    const list = text.split(",").map((m) => m.trim()).filter(Boolean);
    return list.length ? list : null;
  };
  const rate = (text) => (text.trim() ? Number.parseInt(text, 10) : null);

  function row(key) {
    const enabled = key.enabled !== false && !key.revoked_at;
    return el("tr", { dataset: { id: key.id, name: key.name } },
      el("td", {}, key.name),
      el("td", { class: "mono" }, `${key.prefix || ""}…`),
      el("td", {}, Panel.statusPill(enabled ? "enabled" : "revoked")),
      el("td", { class: "num" }, key.rate_limit_per_minute ?? "∞"),
      el("td", { class: "small" }, key.allowed_models?.length ? key.allowed_models.join(", ") : "all"),
      el("td", { class: "hide-narrow small" }, Panel.when(key.created_at)),
      el("td", { class: "small" }, Panel.when(key.last_used_at)),
      el("td", {}, el("div", { class: "row-actions" },
        el("button", { type: "button", class: "button", onclick: () => edit(key) }, "Limits"),
        enabled ? el("button", { type: "button", class: "button danger", onclick: () => revoke(key) }, "Revoke") : null)));
  }

  async function load() {
    const data = await attempt(() => request("GET", "/keys"));
    if (!data) return;
    const keys = Array.isArray(data) ? data : data.items ?? data.keys ?? [];
    $("keys-body").replaceChildren(...(keys.length ? keys.map(row)
      : [el("tr", {}, el("td", { colspan: "8", class: "empty" }, "No client keys yet."))]));
    $("keys-table").dataset.loaded = String(keys.length);
  }

  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const created = await attempt(() => request("POST", "/keys", {
      name: form.name.value.trim(), rate_limit_per_minute: rate(form.rate.value), allowed_models: models(form.models.value),
    }), "Key created");
    if (!created) return;
    $("key-secret-value").textContent = created.secret;
    $("key-secret").hidden = false;
    form.reset();
    load();
  });
  $("key-copy").addEventListener("click", () => {
    navigator.clipboard?.writeText($("key-secret-value").textContent).then(() => Panel.toast("Copied"));
  });

  async function revoke(key) {
    if (!confirm(`Revoke key “${key.name}”? Clients using it are refused from now on.`)) return;
    const done = await attempt(() => request("DELETE", `/keys/${encodeURIComponent(key.id)}`), "Key revoked");
    if (done !== undefined) load();
  }

  let editing = null;
  function edit(key) {
    editing = key;
    const form = $("limits-form");
    form.name.value = key.name;
    form.rate.value = key.rate_limit_per_minute ?? "";
    form.models.value = (key.allowed_models || []).join(", ");
    $("limits-dialog").showModal();
  }
  $("limits-dialog").querySelector("[data-close]").addEventListener("click", () => $("limits-dialog").close());
  $("limits-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const saved = await attempt(() => request("PATCH", `/keys/${encodeURIComponent(editing.id)}`, {
      name: form.name.value.trim(), rate_limit_per_minute: rate(form.rate.value), allowed_models: models(form.models.value),
    }), "Limits saved");
    if (saved !== undefined) { $("limits-dialog").close(); load(); }
  });

  Panel.ready.then(load);
})();
