// Client keys: create (the secret shown once, with a copy button), edit every limit,
// enable/disable, revoke; each key's state, limits, expiry and last use; a link to its usage.
"use strict";

(() => {
  const { el, request, attempt } = Panel;
  const $ = (id) => document.getElementById(id);
  const names = (text) => {
    const list = text.split(",").map((m) => m.trim()).filter(Boolean);
    return list.length ? [...new Set(list)] : null;
  };
  const count = (text) => (String(text).trim() ? Number.parseInt(text, 10) : null);
  const expiry = (date) => (date ? `${date}T00:00:00Z` : null);
  const day = (iso) => (iso ? new Date(iso).toISOString().slice(0, 10) : "");

  function limitsText(key) {
    const unit = key.quota_unit === "cost" ? "cost units" : "requests";
    const parts = [];
    if (key.rate_limit_per_minute != null) parts.push(`${key.rate_limit_per_minute}/min`);
    if (key.max_concurrent != null) parts.push(`${key.max_concurrent} at once`);
    if (key.daily_quota != null) parts.push(`${Panel.number(key.daily_quota)} ${unit}/day`);
    if (key.monthly_quota != null) parts.push(`${Panel.number(key.monthly_quota)} ${unit}/month`);
    return parts.length ? parts.join(" · ") : "none";
  }

  function row(key) {
    const usage = `${Panel.base}/usage?key_id=${encodeURIComponent(key.id)}`;
    return el("tr", { dataset: { id: key.id, name: key.name, state: key.state } },
      el("td", {}, el("a", { href: usage, title: "Usage of this key" }, key.name)),
      el("td", { class: "mono" }, `${key.prefix || ""}…`),
      el("td", {}, Panel.statusPill(key.state)),
      el("td", { class: "small limits" }, limitsText(key)),
      el("td", { class: "small" }, key.allowed_models?.length ? key.allowed_models.join(", ") : "all"),
      el("td", { class: "small" }, key.account_tags?.length ? key.account_tags.join(", ") : "any"),
      el("td", { class: "small" }, key.expires_at ? Panel.when(key.expires_at) : "never"),
      el("td", { class: "small" }, Panel.when(key.last_used_at)),
      el("td", {}, el("div", { class: "row-actions" },
        el("button", { type: "button", class: "button", onclick: () => openEdit(key) }, "Edit"),
        el("a", { class: "button", href: usage }, "Usage"),
        key.state !== "revoked"
          ? el("button", { type: "button", class: "button danger", onclick: () => revoke(key) }, "Revoke") : null)));
  }

  async function load() {
    const data = await attempt(() => request("GET", "/keys"));
    if (!data) return;
    const keys = data.items ?? [];
    $("keys-body").replaceChildren(...(keys.length ? keys.map(row)
      : [el("tr", {}, el("td", { colspan: "9", class: "empty" }, "No client keys yet."))]));
    $("keys-table").dataset.loaded = String(keys.length);
  }

  // One dialog creates (editing === null) or edits a key; every field is sent, so an
  // emptied field clears its limit.
  let editing = null;
  const form = $("key-form");

  function fill(key) {
    form.name.value = key?.name ?? "";
    form.enabled.checked = key ? key.enabled : true;
    form.enabled.disabled = key?.state === "revoked";  // revoked is for good
    form.models.value = (key?.allowed_models || []).join(", ");
    form.rate.value = key?.rate_limit_per_minute ?? "";
    form.concurrency.value = key?.max_concurrent ?? "";
    form.quota_unit.value = key?.quota_unit ?? "requests";
    form.daily.value = key?.daily_quota ?? "";
    form.monthly.value = key?.monthly_quota ?? "";
    form.tags.value = (key?.account_tags || []).join(", ");
    form.expires.value = day(key?.expires_at);
    for (const node of form.querySelectorAll(".edit-only")) node.hidden = !key;
    $("key-id").hidden = !key;
    $("key-id").textContent = key ? key.id : "";
    $("key-dialog-title").textContent = key ? `Edit key “${key.name}”` : "Create a key";
    $("key-save").textContent = key ? "Save" : "Create";
    $("key-error").hidden = true;
  }

  function body() {
    return {
      name: form.name.value.trim(),
      allowed_models: names(form.models.value),
      rate_limit_per_minute: count(form.rate.value),
      max_concurrent: count(form.concurrency.value),
      quota_unit: form.quota_unit.value,
      daily_quota: count(form.daily.value),
      monthly_quota: count(form.monthly.value),
      account_tags: names(form.tags.value),
      expires_at: expiry(form.expires.value),
    };
  }

  function openEdit(key) {
    editing = key;
    fill(key);
    $("key-dialog").showModal();
  }

  $("key-new").addEventListener("click", () => { editing = null; fill(null); $("key-dialog").showModal(); });
  $("key-dialog").querySelector("[data-close]").addEventListener("click", () => $("key-dialog").close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sent = body();
    try {
      if (editing) {
        if (editing.state !== "revoked") sent.enabled = form.enabled.checked;
        await request("PATCH", `/keys/${encodeURIComponent(editing.id)}`, sent);
        Panel.toast("Key saved");
        $("key-dialog").close();
      } else {
        const created = await request("POST", "/keys", sent);
        $("key-dialog").close();
        showSecret(created.secret);
      }
    } catch (error) {
      if (error.status === 401) return;
      $("key-error").textContent = error.message;
      $("key-error").hidden = false;
      return;
    }
    load();
  });

  // The secret lives in this dialog only; closing it forgets it.
  function showSecret(secret) {
    $("key-secret-value").textContent = secret;
    $("secret-dialog").showModal();
  }
  function forgetSecret() { $("key-secret-value").textContent = ""; }
  $("secret-dialog").addEventListener("close", forgetSecret);
  $("secret-done").addEventListener("click", () => $("secret-dialog").close());
  $("key-copy").addEventListener("click", async () => {
    const text = $("key-secret-value").textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {  // no clipboard API outside a secure context: copy the selection instead
      const range = document.createRange();
      range.selectNodeContents($("key-secret-value"));
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    Panel.toast("Copied");
  });

  async function revoke(key) {
    if (!confirm(`Revoke key “${key.name}”? Clients using it are refused from now on, for good.`)) return;
    const done = await attempt(() => request("DELETE", `/keys/${encodeURIComponent(key.id)}`), "Key revoked");
    if (done !== undefined) load();
  }

  Panel.ready.then(load);
})();
