// Egresses: each way out with its state, load and clearance; the spread of accounts over
// them; tests (one, or all) with live progress over SSE; clearance refreshes; add, edit
// (paste a clearance), enable or disable, remove. Proxy URLs and cookies are write-only:
// the API never answers them, so the edit form starts with those fields empty.
"use strict";

(() => {
  const { el, request, attempt, toast } = Panel;
  const $ = (id) => document.getElementById(id);
  const state = { rows: [], solver: false, tests: new Map(), testing: null };
  // What each state means to an operator, beside the badge colour.
  const STATES = {
    healthy: ["ok", "Healthy"],
    no_clearance: ["info", "No clearance"],
    cooling: ["warn", "Cooling"],
    unreachable: ["bad", "Unreachable"],
    disabled: ["off", "Disabled"],
  };

  function badge(value) {
    const [kind, label] = STATES[value] || ["", value];
    const help = { no_clearance: "Usable, but no clearance yet: paste one or refresh through the solver",
      cooling: "Challenged again right after a fresh clearance: left unused for a while",
      unreachable: "Network failures in a row through its proxy" }[value];
    return el("span", { class: `pill state ${kind}`, title: help, dataset: { state: value } }, label);
  }

  function ago(seconds) {
    const s = Math.abs(seconds);
    return s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min`
      : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  }

  function clearanceCell(egress) {
    const c = egress.clearance;
    if (!c) return el("td", { class: "small muted" }, "none");
    const now = Date.now() / 1000;
    const expiry = c.expires_at == null ? "no expiry known"
      : c.expires_at <= now ? "expired" : `expires in ${ago(c.expires_at - now)}`;
    return el("td", { class: "small" },
      el("span", { class: "pill" }, c.source), " ",
      !c.obtained_at ? "" : now - c.obtained_at < 5 ? "obtained just now" : `obtained ${ago(now - c.obtained_at)} ago`,
      el("br"),
      el("span", { class: c.expires_at != null && c.expires_at <= now ? "warning" : "muted" }, expiry));
  }

  function boundBar(egress, most) {
    const share = most ? egress.bound_accounts / most : 0;
    return el("td", {}, el("div", { class: "bound", title: `${egress.bound_accounts} account(s) bound` },
      el("span", { class: "meter" },
        el("span", { class: `meter-fill ${(STATES[egress.state] || [""])[0]}`, style: `width: ${Math.round(share * 100)}%` })),
      el("span", { class: "count" }, Panel.number(egress.bound_accounts))));
  }

  function lastTest(egress) {
    const tested = state.tests.get(egress.id);
    const parts = [];
    if (tested) {
      const text = tested.ok ? `OK · HTTP ${tested.status} · ${Panel.number(tested.latency_ms)} ms`
        : tested.challenged ? `Challenged · HTTP ${tested.status}` : `Failed: ${tested.error || "no answer"}`;
      parts.push(el("span", { class: `test-result ${tested.ok ? "ok" : "bad"}`, dataset: { ok: String(tested.ok) } }, text));
    }
    if (egress.last_error) parts.push(el("span", { class: "small muted last-error" }, egress.last_error));
    return el("td", { class: "small" }, parts.length ? parts : "—");
  }

  function row(egress, most) {
    const readOnly = egress.from_settings;
    const why = readOnly ? "Built from the settings: change network.*_proxy_url / security.cf_clearance, or add egresses" : undefined;
    const rate = egress.calls ? `${Panel.number(egress.challenge_rate * 100, 1)} %` : "—";
    return el("tr", { dataset: { id: egress.id, name: egress.name, state: egress.state } },
      el("td", {},
        el("strong", {}, egress.name), " ",
        readOnly ? el("span", { class: "pill small", title: why }, "from settings") : null,
        el("br"), el("span", { class: "small muted mono" }, egress.proxy),
        egress.tags.length ? el("div", {}, egress.tags.map((t) => el("span", { class: "pill" }, t))) : null),
      el("td", {}, badge(egress.state)),
      boundBar(egress, most),
      el("td", { class: "num" }, Panel.number(egress.inflight), egress.max_inflight ? el("span", { class: "muted" }, ` / ${egress.max_inflight}`) : null),
      el("td", { class: "num hide-narrow", title: `${egress.challenges} challenge(s) in ${egress.calls} call(s)` }, rate,
        el("br"), el("span", { class: "small muted" }, `${Panel.number(egress.challenges)} of ${Panel.number(egress.calls)}`)),
      el("td", { class: "num hide-narrow" }, egress.latency_ms ? `${Panel.number(egress.latency_ms)} ms` : "—"),
      clearanceCell(egress),
      lastTest(egress),
      el("td", {}, el("div", { class: "row-actions" },
        el("button", { type: "button", class: "button", onclick: () => runTest([egress]) }, "Test now"),
        el("button", { type: "button", class: "button", disabled: !state.solver,
          title: state.solver ? undefined : "No solver: set egress.solver_url, or paste a clearance",
          onclick: () => refresh(egress) }, "Refresh clearance"),
        el("button", { type: "button", class: "button", disabled: readOnly, title: why,
          onclick: () => setEnabled(egress, !egress.enabled) }, egress.enabled ? "Disable" : "Enable"),
        el("button", { type: "button", class: "button", disabled: readOnly, title: why, onclick: () => openEdit(egress) }, "Edit"),
        el("button", { type: "button", class: "button danger", disabled: readOnly, title: why, onclick: () => remove(egress) }, "Remove"))),
    );
  }

  // One bar split by egress, each part as wide as its share of the bound accounts.
  function drawSpread() {
    const total = state.rows.reduce((n, e) => n + e.bound_accounts, 0);
    const parts = state.rows.filter((e) => e.bound_accounts > 0).map((e) =>
      el("span", { class: `spread-part ${(STATES[e.state] || [""])[0]}`, style: `flex-grow: ${e.bound_accounts}`,
        title: `${e.name}: ${e.bound_accounts} account(s)` }, e.name));
    $("spread").replaceChildren(...(parts.length ? parts : [el("span", { class: "small muted" }, "No account is bound yet.")]));
    $("spread-legend").replaceChildren(...state.rows.map((e) => el("li", {},
      badge(e.state), ` ${e.name}: ${Panel.number(e.bound_accounts)}`,
      total ? ` (${Panel.number((e.bound_accounts / total) * 100)} %)` : "")));
    $("solver-note").textContent = state.solver
      ? "A clearance solver is configured: clearances refresh on a schedule and after challenges."
      : "No clearance solver is configured (egress.solver_url): paste clearances by hand.";
  }

  async function load() {
    const data = await attempt(() => request("GET", "/egresses"));
    if (!data) return;
    state.rows = data.items;
    state.solver = data.solver;
    const most = Math.max(0, ...state.rows.map((e) => e.bound_accounts));
    $("egresses-body").replaceChildren(...(state.rows.length ? state.rows.map((e) => row(e, most))
      : [el("tr", {}, el("td", { colspan: "9", class: "empty" }, "No egress: calls go direct. Add one."))]));
    drawSpread();
    $("egresses-table").dataset.loaded = String(Date.now());
  }

  function runTest(which) {
    if (state.testing) { toast("A test is running already", { error: true }); return; }
    const path = which ? `/egresses/${encodeURIComponent(which[0].id)}/test` : "/egresses/test";
    const title = which ? `Testing ${which[0].name}` : "Testing every egress";
    state.testing = true;
    attempt(() => request("POST", path)).then((job) => {
      if (!job || !job.id) { state.testing = null; return; }
      follow(job.id, title);
    });
  }

  function follow(id, title) {
    const bar = $("test-progress");
    $("test-run").hidden = false;
    $("test-title").textContent = title;
    $("test-close").hidden = true;
    $("test-state").textContent = "running";
    $("test-state").dataset.state = "running";
    $("test-count").textContent = "starting…";
    bar.max = 1; bar.value = 0;
    Panel.events(`/batches/${encodeURIComponent(id)}/events`, (data, type, source) => {
      if (!data || typeof data !== "object") return;
      if (data.total) { bar.max = data.total; bar.value = data.done; }
      $("test-count").textContent = `${Panel.number(data.done)} / ${Panel.number(data.total)}`;
      if (type === "progress" && data.egress_id) {
        state.tests.set(data.egress_id, data);
        load();
      }
      if (type === "summary") {
        source.close();
        state.testing = null;
        const word = data.status === "finished" ? (data.failed ? `${data.failed} of ${data.total} failed` : "every test passed") : data.status;
        $("test-state").textContent = word;
        $("test-state").dataset.state = data.failed || data.status !== "finished" ? "failed" : "finished";
        $("test-close").hidden = false;
        load();
      }
    }, (source) => {
      if (source.readyState === EventSource.CLOSED && state.testing) {
        state.testing = null;
        $("test-state").textContent = "connection lost";
        $("test-state").dataset.state = "failed";
        $("test-close").hidden = false;
      }
    });
  }

  async function refresh(egress) {
    const done = await attempt(() => request("POST", `/egresses/${encodeURIComponent(egress.id)}/refresh-clearance`));
    if (done) {
      toast(done.result === "fresh" ? `${egress.name}: the clearance is fresh already` : `${egress.name}: clearance refreshed`);
      load();
    }
  }

  async function setEnabled(egress, enabled) {
    const saved = await attempt(() => request("PATCH", `/egresses/${encodeURIComponent(egress.id)}`, { enabled }),
      `${egress.name} ${enabled ? "enabled" : "disabled"}`);
    if (saved) load();
  }

  async function remove(egress) {
    const bound = egress.bound_accounts ? ` Its ${egress.bound_accounts} account(s) move to the other egresses.` : "";
    if (!confirm(`Remove egress ${egress.name}?${bound}`)) return;
    const done = await attempt(() => request("DELETE", `/egresses/${encodeURIComponent(egress.id)}`), `${egress.name} removed`);
    if (done !== undefined) { state.tests.delete(egress.id); load(); }
  }

  const form = $("egress-form");
  let editing = null;
  const tags = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);

  function fill(egress) {
    editing = egress;
    form.reset();
    for (const node of form.querySelectorAll(".edit-only")) node.hidden = !egress;
    $("egress-dialog-title").textContent = egress ? `Edit ${egress.name}` : "Add an egress";
    $("egress-save").textContent = egress ? "Save" : "Add";
    $("egress-id").hidden = !egress;
    $("egress-id").textContent = egress ? `${egress.id} · now ${egress.proxy}` : "";
    $("egress-proxy-label").firstChild.textContent = egress
      ? "New proxy URL (empty: keep the current one)" : $("egress-proxy-label").dataset.add;
    $("egress-clearance-label").firstChild.textContent = egress
      ? "Paste a new clearance (empty: keep the current one)" : $("egress-clearance-label").dataset.add;
    $("egress-error").hidden = true;
    if (egress) {
      form.name.value = egress.name;
      form.tags.value = egress.tags.join(", ");
      form.max_inflight.value = String(egress.max_inflight);
      form.browser.value = egress.browser;
      form.user_agent.value = egress.user_agent;
      form.enabled.checked = egress.enabled;
    }
  }
  for (const id of ["egress-proxy-label", "egress-clearance-label"]) $(id).dataset.add = $(id).textContent;

  function body() {
    const sent = {
      name: form.name.value.trim(), tags: tags(form.tags.value), max_inflight: Number(form.max_inflight.value || 0),
      browser: form.browser.value.trim(), user_agent: form.user_agent.value.trim(), enabled: form.enabled.checked,
    };
    const proxy = form.proxy_url.value.trim();
    const assetProxy = form.asset_proxy_url.value.trim();
    const clearance = form.clearance_cookies.value.trim();
    if (!editing) return { ...sent, proxy_url: proxy, asset_proxy_url: assetProxy, clearance_cookies: clearance };
    if (form.direct.checked) { sent.proxy_url = ""; sent.asset_proxy_url = ""; }
    else {
      if (proxy) sent.proxy_url = proxy;
      if (assetProxy) sent.asset_proxy_url = assetProxy;
    }
    if (form.forget.checked) sent.clearance_cookies = "";
    else if (clearance) sent.clearance_cookies = clearance;
    return sent;
  }

  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  $("add-open").addEventListener("click", () => { fill(null); $("egress-dialog").showModal(); });
  function openEdit(egress) { fill(egress); $("egress-dialog").showModal(); }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      if (editing) await request("PATCH", `/egresses/${encodeURIComponent(editing.id)}`, body());
      else await request("POST", "/egresses", body());
    } catch (error) {
      if (error.status === 401) return;
      $("egress-error").textContent = error.message;
      $("egress-error").hidden = false;
      return;
    }
    toast(editing ? "Egress saved" : "Egress added");
    form.clearance_cookies.value = "";
    form.proxy_url.value = "";
    $("egress-dialog").close();
    load();
  });
  $("test-all").addEventListener("click", () => runTest(null));
  $("test-close").addEventListener("click", () => { $("test-run").hidden = true; });

  Panel.ready.then(load);
})();
