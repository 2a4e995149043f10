// Accounts: a server-side paged, sorted, filtered table; add, import, edit, delete; batch
// jobs over a selection (or every matching account) with live progress over SSE.
"use strict";

(() => {
  const { el, request, attempt, toast } = Panel;
  const $ = (id) => document.getElementById(id);
  const state = { page: 1, pageSize: 50, sort: "id", order: "asc", total: 0, rows: [], selected: new Set() };
  const filters = $("filters");

  function query() {
    const params = new URLSearchParams({
      page: String(state.page), page_size: String(state.pageSize), sort: state.sort, order: state.order,
    });
    for (const name of ["q", "tier", "status", "tag"]) {
      const value = filters.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    return params;
  }

  // Modes the tier has (total > 0), remaining of total; the soonest refill among them.
  function quotaCells(account) {
    const windows = (account.quota || []).filter((w) => w.total > 0);
    if (!windows.length) return [el("td", { class: "num" }, "—"), el("td", { class: "hide-narrow" }, "—")];
    const remaining = windows.map((w) => el("span", { class: `quota${w.remaining === 0 ? " warning" : ""}`, title: `source: ${w.source}` },
      `${w.mode} ${Panel.number(w.remaining)}/${Panel.number(w.total)}`));
    const resets = windows.map((w) => w.reset_at).filter(Boolean).sort((a, b) => a - b);
    return [el("td", { class: "num" }, remaining),
      el("td", { class: "hide-narrow small" }, resets.length ? Panel.when(resets[0]) : "—")];
  }

  // The operator tags the accounts it manages k8s:<namespace>/<name>; those are read-only here.
  const MANAGED_PREFIX = "k8s:";
  function managedBy(account) {
    if (account.managed_by) return `GrokToken ${account.managed_by}`;
    const tag = (account.tags || []).find((t) => t.startsWith(MANAGED_PREFIX));
    return tag ? `GrokToken ${tag.slice(MANAGED_PREFIX.length)}` : "";
  }

  function row(account) {
    const id = account.account_id ?? account.id;
    const managed = managedBy(account);
    const box = el("input", { type: "checkbox", "aria-label": `Select ${id}`, dataset: { id } });
    box.checked = state.selected.has(id);
    box.addEventListener("change", () => { box.checked ? state.selected.add(id) : state.selected.delete(id); selectionChanged(); });
    const status = account.enabled === false && account.status !== "disabled" ? "disabled" : account.status;
    return el("tr", { dataset: { id } },
      el("td", {}, box),
      el("td", {}, el("span", { class: "mono account-id", title: id }, id), el("br"), el("span", { class: "small muted mono" }, account.credential || ""), " ",
        managed ? el("span", { class: "pill small", title: "Managed by a GrokToken object (read-only here)" }, managed) : null),
      el("td", {}, account.tier || "—"),
      el("td", {}, Panel.statusPill(status)),
      ...quotaCells(account),
      el("td", { class: "num hide-narrow" }, Panel.number(account.inflight ?? 0)),
      el("td", { class: "num" }, Panel.number(account.fail_count ?? account.failures ?? 0)),
      el("td", { class: "hide-narrow small" }, Panel.when(account.last_used_at)),
      el("td", {}, (account.tags || []).filter((t) => !t.startsWith(MANAGED_PREFIX)).map((t) => el("span", { class: "pill" }, t))),
      el("td", { class: "hide-narrow small" }, account.note || ""),
      el("td", {}, el("div", { class: "row-actions" },
        el("button", { type: "button", class: "button", disabled: Boolean(managed), onclick: () => openEdit(account) }, "Edit"),
        el("button", { type: "button", class: "button", onclick: () => openAssets(id) }, "Assets"),
        el("button", { type: "button", class: "button danger", disabled: Boolean(managed), onclick: () => remove(id) }, "Delete"))),
    );
  }

  // Only the newest request may fill the table: an older answer arriving late (a reload
  // after a save racing a search) must not overwrite what the filters now ask for.
  let latest = 0;
  async function load() {
    const mine = ++latest;
    const data = await attempt(() => request("GET", `/accounts?${query()}`));
    if (!data || mine !== latest) return;
    state.rows = data.items ?? data.accounts ?? [];
    state.total = data.total ?? state.rows.length;
    const body = $("accounts-body");
    body.replaceChildren(...(state.rows.length ? state.rows.map(row)
      : [el("tr", {}, el("td", { colspan: "12", class: "empty" }, "No accounts match."))]));
    const pages = Math.max(1, Math.ceil(state.total / state.pageSize));
    $("page-label").textContent = `Page ${state.page} of ${pages}`;
    $("page-prev").disabled = state.page <= 1;
    $("page-next").disabled = state.page >= pages;
    $("total").textContent = `${Panel.number(state.total)} account${state.total === 1 ? "" : "s"}`;
    $("accounts-table").dataset.loaded = query().toString();
    selectionChanged();
  }

  function selectionChanged() {
    $("selected-count").textContent = String(state.selected.size);
    $("batch-selected").disabled = state.selected.size === 0;
    const ids = state.rows.map((a) => a.account_id ?? a.id);
    $("select-page").checked = ids.length > 0 && ids.every((id) => state.selected.has(id));
  }

  function reload({ keepPage = false } = {}) {
    if (!keepPage) state.page = 1;
    return load();
  }

  let typing;
  filters.addEventListener("input", (event) => {
    clearTimeout(typing);
    if (event.target.id === "filter-page-size") state.pageSize = Number(event.target.value);
    typing = setTimeout(() => reload(), event.target.type === "search" || event.target.name === "tag" ? 250 : 0);
  });
  filters.addEventListener("submit", (event) => { event.preventDefault(); reload(); });
  $("page-prev").addEventListener("click", () => { state.page -= 1; load(); });
  $("page-next").addEventListener("click", () => { state.page += 1; load(); });
  $("select-page").addEventListener("change", (event) => {
    for (const account of state.rows) {
      const id = account.account_id ?? account.id;
      event.target.checked ? state.selected.add(id) : state.selected.delete(id);
    }
    for (const box of $("accounts-body").querySelectorAll("input[type=checkbox]")) box.checked = event.target.checked;
    selectionChanged();
  });
  for (const header of document.querySelectorAll("th[data-sort]")) {
    header.querySelector("button").addEventListener("click", () => {
      const key = header.dataset.sort;
      state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
      state.sort = key;
      for (const other of document.querySelectorAll("th[data-sort]")) other.removeAttribute("aria-sort");
      header.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
      reload();
    });
  }

  const tags = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);
  for (const dialog of document.querySelectorAll("dialog")) {
    for (const button of dialog.querySelectorAll("[data-close]")) button.addEventListener("click", () => dialog.close());
  }

  $("add-open").addEventListener("click", () => { $("add-form").reset(); $("add-dialog").showModal(); });
  $("add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const created = await attempt(() => request("POST", "/accounts", {
      credential: form.credential.value.trim(), tier: form.tier.value, tags: tags(form.tags.value), note: form.note.value,
    }), "Account added");
    if (created !== undefined) { $("add-dialog").close(); reload({ keepPage: true }); }
  });

  $("import-open").addEventListener("click", () => {
    $("import-form").reset(); $("import-progress").hidden = true; $("import-dialog").showModal();
  });
  $("import-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) $("import-text").value = await file.text();
  });
  $("import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("import-text").value;
    if (!text.trim()) { toast("Paste lines or choose a file first", { error: true }); return; }
    const bar = $("import-progress").querySelector("progress");
    const status = $("import-status");
    $("import-progress").hidden = false;
    $("import-submit").disabled = true;
    bar.removeAttribute("value");
    status.textContent = "importing…";
    status.dataset.state = "running";
    const result = await attempt(() => request("POST", "/accounts/import", {
      text, tier: $("import-tier").value || null, tags: tags($("import-tags").value),
    }));
    $("import-submit").disabled = false;
    if (result === undefined) { status.textContent = "failed"; status.dataset.state = "failed"; return; }
    const finish = (summary) => {
      bar.max = 1; bar.value = 1;
      status.textContent = importSummary(summary);
      status.dataset.state = "finished";
      reload({ keepPage: true });
    };
    if (result && result.id && !("added" in result || "imported" in result)) {
      follow(result.id, { title: "Import", onFinish: finish, bar, label: status });
    } else {
      finish(result);
    }
  });

  function importSummary(summary) {
    if (!summary || typeof summary !== "object") return "done";
    const parts = [];
    if (summary.status && summary.status !== "finished") parts.push(summary.status);
    parts.push(`${Panel.number(summary.succeeded ?? summary.done ?? 0)} imported`);
    if (summary.failed) parts.push(`${Panel.number(summary.failed)} refused`);
    if (summary.skipped) parts.push(`${Panel.number(summary.skipped)} skipped`);
    if (summary.error) parts.push(summary.error);
    return parts.join(", ");
  }

  let editing = null;
  function openEdit(account) {
    editing = account;
    const form = $("edit-form");
    $("edit-id").textContent = account.account_id ?? account.id;
    $("edit-managed").hidden = !managedBy(account);
    form.tier.value = account.tier;
    form.tags.value = (account.tags || []).join(", ");
    form.note.value = account.note || "";
    form.enabled.checked = account.enabled !== false;
    $("edit-dialog").showModal();
  }
  $("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const id = editing.account_id ?? editing.id;
    const saved = await attempt(() => request("PATCH", `/accounts/${encodeURIComponent(id)}`, {
      tier: form.tier.value, tags: tags(form.tags.value), note: form.note.value, enabled: form.enabled.checked,
    }), "Account saved");
    if (saved !== undefined) { $("edit-dialog").close(); load(); }
  });

  async function remove(id) {
    if (!confirm(`Delete account ${id}? Its credential is gone for good.`)) return;
    const done = await attempt(() => request("DELETE", `/accounts/${encodeURIComponent(id)}`), "Account deleted");
    if (done !== undefined) { state.selected.delete(id); load(); }
  }

  let assets = { id: null, token: "" };
  async function loadAssets() {
    const page = await attempt(() => request("GET",
      `/accounts/${encodeURIComponent(assets.id)}/assets?page_token=${encodeURIComponent(assets.token)}`));
    if (!page) return;
    const rows = page.items.map((a) => el("tr", {}, el("td", { class: "small" }, a.name || a.id),
      el("td", { class: "small" }, a.mime_type || "—"), el("td", { class: "num small" }, Panel.bytes(a.size)),
      el("td", { class: "small" }, a.created_at ? Panel.when(a.created_at) : "—")));
    const body = $("assets-body");
    if (!assets.token) body.replaceChildren();
    body.append(...rows);
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: "4", class: "empty" }, "No assets.")));
    assets.token = page.next_page_token;
    $("assets-more").hidden = !assets.token;
  }
  function openAssets(id) {
    assets = { id, token: "" };
    $("assets-account").textContent = id;
    $("assets-body").replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "empty" }, "Loading…")));
    $("assets-dialog").showModal();
    loadAssets();
  }
  $("assets-more").addEventListener("click", loadAssets);
  $("assets-clear").addEventListener("click", async () => {
    if (!confirm(`Delete every upstream asset of ${assets.id}?`)) return;
    $("assets-dialog").close();
    const job = await attempt(() => request("POST", "/batches", { action: "clear_assets", account_ids: [assets.id] }));
    if (job && job.id) follow(job.id, { title: "Clear upstream assets", onFinish: () => load() });
  });

  let running = null;
  function follow(id, { title, onFinish, bar = $("batch-progress"), label = null }) {
    const panel = $("batch");
    const stateLabel = $("batch-state");
    const useBanner = label === null;
    if (useBanner) {
      panel.hidden = false;
      $("batch-title").textContent = title;
      $("batch-cancel").hidden = false;
      $("batch-close").hidden = true;
      stateLabel.textContent = "running";
      stateLabel.dataset.state = "running";
      $("batch-detail").textContent = "";
      bar.max = 1; bar.value = 0;
      $("batch-count").textContent = "starting…";
    }
    const source = Panel.events(`/batches/${encodeURIComponent(id)}/events`, (data, type) => {
      if (!data || typeof data !== "object") return;
      const total = data.total ?? 0;
      const done = data.done ?? 0;
      if (total) { bar.max = total; bar.value = done; }
      if (useBanner) {
        $("batch-count").textContent = `${Panel.number(done)} / ${Panel.number(total)}`;
        if (data.error) $("batch-detail").textContent = `${data.account_id || ""}: ${data.error}`;
      } else {
        label.textContent = `${Panel.number(done)} / ${Panel.number(total)}`;
      }
      const ended = data.state ?? data.status;
      const finishedState = data.type === "summary" || type === "summary" || data.finished === true
        || ["finished", "done", "succeeded", "completed", "failed", "cancelled", "canceled"].includes(ended);
      if (finishedState) {
        source.close();
        running = null;
        const word = ["canceled", "cancelled"].includes(ended) || data.cancelled ? "cancelled"
          : ended === "failed" ? "failed" : "finished";
        if (useBanner) {
          stateLabel.textContent = `${word}${data.failed ? `, ${data.failed} failed` : ""}`;
          stateLabel.dataset.state = word;
          $("batch-cancel").hidden = true;
          $("batch-close").hidden = false;
          if (total) { bar.max = total; bar.value = word === "finished" ? total : done; }
        }
        if (onFinish) onFinish(data);
      }
    }, (source) => {
      if (source.readyState === EventSource.CLOSED && running) {
        running = null;
        if (useBanner) { stateLabel.textContent = "connection lost"; stateLabel.dataset.state = "failed"; }
      }
    });
    running = { id, source };
  }

  async function startBatch(body) {
    const action = $("batch-action");
    const label = action.options[action.selectedIndex].text;
    const job = await attempt(() => request("POST", "/batches", { action: action.value, ...body }));
    if (job && job.id) follow(job.id, { title: label, onFinish: () => load() });
  }
  $("batch-selected").addEventListener("click", () => startBatch({ account_ids: [...state.selected] }));
  $("batch-all").addEventListener("click", () => {
    if (confirm(`Run this on all ${state.total} matching accounts?`)) startBatch({ all: true });
  });
  $("batch-cancel").addEventListener("click", async () => {
    if (!running) return;
    const { id, source } = running;
    $("batch-cancel").disabled = true;
    // The batch's own summary event (status "cancelled") ends the progress bar.
    const asked = await attempt(() => request("DELETE", `/batches/${encodeURIComponent(id)}`));
    if (asked !== undefined && running && running.id === id && source) {
      $("batch-state").textContent = "cancelling…";
    }
    $("batch-cancel").disabled = false;
  });
  $("batch-close").addEventListener("click", () => { $("batch").hidden = true; });

  Panel.ready.then(load);
})();
