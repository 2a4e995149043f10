// Usage: requests and tokens per day (or hour) of one client key or of all of them, drawn
// with uPlot from /api/usage/summary; per-model and per-key tables; the CSV export of the
// same filters. The filters live in the address (?key_id=…&days=14&by=day), so a view
// can be linked to (the keys page links each key's).
"use strict";

(() => {
  const { el, request, attempt, number } = Panel;
  const $ = (id) => document.getElementById(id);
  const form = $("usage-filters");
  const HOUR = 3600 * 1000;
  const DAY = 24 * HOUR;
  let plots = [];

  function readAddress() {
    const query = new URLSearchParams(location.search);
    for (const name of ["model", "endpoint"]) form[name].value = query.get(name) ?? "";
    if (query.get("days")) form.days.value = query.get("days");
    if (query.get("by")) form.by.value = query.get("by");
    return query.get("key_id") ?? "";
  }

  // The periods shown: from the start of the first one up to now, in UTC.
  function span() {
    const hourly = form.by.value === "hour";
    const days = Number(form.days.value) || 14;
    const now = new Date();
    const first = hourly
      ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours()) - (24 * days - 1) * HOUR
      : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (days - 1) * DAY;
    const starts = [];
    for (let at = first; at <= now.getTime(); at += hourly ? HOUR : DAY) starts.push(at);
    return { since: new Date(first).toISOString(), starts, hourly };
  }

  function filters(since) {
    const query = new URLSearchParams({ since });
    for (const name of ["key_id", "model", "endpoint"]) {
      const value = form[name].value.trim();
      if (value) query.set(name, value);
    }
    return query;
  }

  function remember() {
    const query = new URLSearchParams();
    for (const name of ["key_id", "model", "endpoint"]) if (form[name].value.trim()) query.set(name, form[name].value.trim());
    query.set("days", form.days.value);
    query.set("by", form.by.value);
    history.replaceState(null, "", `${location.pathname}?${query}`);
  }

  const latency = (b) => (b.latency_ms_avg == null ? "—" : `${number(b.latency_ms_avg)} ms`);
  const cells = (b) => [
    el("td", { class: "num" }, number(b.requests)), el("td", { class: "num" }, number(b.errors)),
    el("td", { class: "num" }, number(b.prompt_tokens)), el("td", { class: "num" }, number(b.completion_tokens)),
    el("td", { class: "num" }, number(b.cost_units)), el("td", { class: "num" }, latency(b)),
  ];
  function table(body, items, label, empty) {
    $(body).replaceChildren(...(items.length ? items.map((b) => el("tr", { dataset: { name: label(b) } }, el("td", {}, label(b)), ...cells(b)))
      : [el("tr", {}, el("td", { colspan: "7", class: "empty" }, empty))]));
  }

  function chart(target, starts, hourly, lines) {
    const node = $(target);
    node.replaceChildren();
    const data = [starts.map((t) => t / 1000), ...lines.map((line) => line.values)];
    const step = (hourly ? HOUR : DAY) / 1000;
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 60] }) : undefined;
    const label = (t) => {
      const at = new Date(t * 1000);
      return hourly ? `${at.toISOString().slice(5, 10)} ${at.toISOString().slice(11, 13)}h` : at.toISOString().slice(0, 10);
    };
    const plot = new uPlot({
      width: Math.max(220, (node.clientWidth || 320) - 4), height: 220,
      // half a period of room on each side, so the first and last bars are whole
      scales: { x: { time: true, range: (u, min, max) => [min - step / 2, max + step / 2] } },
      legend: { live: false },
      axes: [
        { space: 90, values: (u, ticks) => ticks.map(label) },
        { size: 60, values: (u, ticks) => ticks.map((t) => number(t)) },
      ],
      series: [{}, ...lines.map((line) => ({ label: line.label, stroke: line.color, fill: `${line.color}99`, width: 1, paths: bars, points: { show: false } }))],
    }, data, node);
    node.dataset.total = String(lines[0].values.reduce((a, b) => a + b, 0));
    plots.push(plot);
  }

  async function keyCard(keyId) {
    $("usage-key-card").hidden = !keyId;
    $("usage-keys-card").hidden = Boolean(keyId);
    if (!keyId) return;
    const key = await attempt(() => request("GET", `/keys/${encodeURIComponent(keyId)}`));
    if (!key) return;
    const unit = key.quota_unit === "cost" ? "cost units" : "requests";
    const of = (t) => `${number(t.used)} ${unit}${t.quota != null ? ` of ${number(t.quota)}` : " (no quota)"}`;
    $("usage-key-title").textContent = `Key “${key.name}”`;
    $("usage-key-detail").replaceChildren(Panel.statusPill(key.state), ` ${key.prefix}… · created ${Panel.when(key.created_at)} · last used ${Panel.when(key.last_used_at)}`);
    $("usage-key-quota").textContent = `Today (UTC): ${of(key.today)} · this month: ${of(key.month)}`;
  }

  async function load() {
    remember();
    const { since, starts, hourly } = span();
    const query = filters(since);
    $("usage-csv").href = `${Panel.api}/usage/export.csv?${query}`;
    const keyId = form.key_id.value;
    const [periods, models, keys] = await Promise.all([
      attempt(() => request("GET", `/usage/summary?${query}&group_by=${hourly ? "hour" : "day"}`)),
      attempt(() => request("GET", `/usage/summary?${query}&group_by=model`)),
      keyId ? Promise.resolve({ items: [] }) : attempt(() => request("GET", `/usage/summary?${query}&group_by=key`)),
      keyCard(keyId),
    ]);
    if (!periods || !models || !keys) return;
    const at = new Map(periods.items.map((b) => [Date.parse(b.period), b]));
    const series = (field) => starts.map((t) => at.get(t)?.[field] ?? 0);
    const total = (field) => periods.items.reduce((sum, b) => sum + b[field], 0);
    $("usage-total-requests").textContent = number(total("requests"));
    $("usage-total-errors").textContent = number(total("errors"));
    $("usage-total-prompt").textContent = number(total("prompt_tokens"));
    $("usage-total-completion").textContent = number(total("completion_tokens"));
    $("usage-total-cost").textContent = number(total("cost_units"));
    for (const plot of plots) plot.destroy();
    plots = [];
    chart("usage-requests-chart", starts, hourly, [
      { label: "requests", color: "#2f5bea", values: series("requests") },
      { label: "errors", color: "#c0392b", values: series("errors") },
    ]);
    chart("usage-tokens-chart", starts, hourly, [
      { label: "tokens in", color: "#1f8a4c", values: series("prompt_tokens") },
      { label: "tokens out", color: "#b36b00", values: series("completion_tokens") },
    ]);
    table("usage-models-body", models.items, (b) => b.model, "No requests in this period.");
    table("usage-keys-body", keys.items, (b) => b.key_name ?? b.key_id ?? "master key / open API", "No requests in this period.");
    $("usage-filters").dataset.loaded = query.toString();
  }

  async function keyOptions(selected) {
    const data = await attempt(() => request("GET", "/keys"));
    const options = (data?.items ?? []).map((key) => el("option", { value: key.id }, `${key.name} (${key.prefix}…, ${key.state})`));
    form.key_id.append(...options);
    form.key_id.value = selected;
    if (selected && form.key_id.value !== selected) {  // a key not listed: keep it selectable
      form.key_id.append(el("option", { value: selected }, selected));
      form.key_id.value = selected;
    }
  }

  let timer = null;
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 300); });
  form.addEventListener("change", () => { clearTimeout(timer); load(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  window.addEventListener("resize", () => {
    for (const plot of plots) plot.setSize({ width: Math.max(220, (plot.root.parentNode.clientWidth || 320) - 4), height: 220 });
  });

  Panel.ready.then(async () => {
    await keyOptions(readAddress());
    await load();
  });
})();
