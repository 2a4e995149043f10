// Dashboard: pool health from /api/pool and the services' metrics from /api/dashboard,
// refreshed live (server-sent events when the API offers them, else polling), drawn with
// uPlot. Each chart keeps the last KEEP points it has seen since the page opened.
"use strict";

(() => {
  const { el, request } = Panel;
  const $ = (id) => document.getElementById(id);
  const KEEP = 180;
  const POLL_MS = 5000;
  const palette = ["#2f5bea", "#1f8a4c", "#c0392b", "#b36b00", "#7b3fbf", "#00838f", "#5b6476", "#d81b60"];

  // A time chart whose named lines may appear over time (a model seen for the first time).
  class TimeChart {
    constructor(target, { unit = "", digits = 2 } = {}) {
      this.target = target;
      this.unit = unit;
      this.digits = digits;
      this.times = [];
      this.lines = new Map();
      this.plot = null;
    }

    push(at, values) {
      this.times.push(at);
      for (const name of Object.keys(values)) {
        if (!this.lines.has(name)) this.lines.set(name, new Array(this.times.length - 1).fill(null));
      }
      for (const [name, points] of this.lines) points.push(values[name] ?? null);
      if (this.times.length > KEEP) {
        this.times.shift();
        for (const points of this.lines.values()) points.shift();
      }
      this.draw();
    }

    draw() {
      const data = [this.times, ...this.lines.values()];
      const names = [...this.lines.keys()];
      if (this.plot && this.plot.series.length - 1 === names.length) {
        this.plot.setData(data);
        return;
      }
      if (this.plot) this.plot.destroy();
      this.target.replaceChildren();
      if (!names.length) {
        this.target.append(el("p", { class: "muted small" }, "No data yet."));
        return;
      }
      const format = (u, v) => (v === null || v === undefined ? "—" : `${v.toFixed(this.digits)}${this.unit}`);
      this.plot = new uPlot({
        width: this.width(), height: 200,
        scales: { x: { time: true } },
        axes: [{}, { size: 56, values: (u, ticks) => ticks.map((t) => `${+t.toFixed(this.digits)}`) }],
        series: [{}, ...names.map((name, i) => ({ label: name, stroke: palette[i % palette.length], width: 2, value: format, spanGaps: true }))],
      }, data, this.target);
    }

    width() {
      return Math.max(240, this.target.clientWidth || 320);
    }

    resize() {
      if (this.plot) this.plot.setSize({ width: this.width(), height: 200 });
    }
  }

  const charts = {
    rate: new TimeChart($("chart-rate"), { digits: 2 }),
    errors: new TimeChart($("chart-errors"), { digits: 3 }),
    latency: new TimeChart($("chart-latency"), { unit: " s", digits: 2 }),
    ttft: new TimeChart($("chart-ttft"), { unit: " s", digits: 2 }),
    queue: new TimeChart($("chart-queue"), { digits: 0 }),
    quota: new TimeChart($("chart-quota"), { digits: 0 }),
  };
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

  function byModel(models, field) {
    const out = {};
    for (const m of models || []) if (m[field] !== undefined && m[field] !== null) out[m.model] = m[field];
    return out;
  }

  function pool(stats, at) {
    $("stat-accounts").textContent = Panel.number(stats.total_accounts);
    $("stat-inflight").textContent = Panel.number(stats.leases_in_flight);
    const quota = {};
    const rows = (stats.tiers || []).map((tier) => {
      for (const [mode, n] of Object.entries(tier.remaining_by_mode || {})) quota[mode] = (quota[mode] || 0) + n;
      return el("tr", { dataset: { tier: tier.tier } },
        el("td", {}, tier.tier),
        el("td", {}, Object.entries(tier.by_status || {}).map(([status, n]) => el("span", {}, Panel.statusPill(`${status}`), ` ${n} `))),
        el("td", { class: "small" }, Object.entries(tier.remaining_by_mode || {}).map(([mode, n]) => `${mode}: ${Panel.number(n)}`).join(" · ") || "—"));
    });
    $("pool-body").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "3", class: "empty" }, "No accounts in the pool."))]));
    charts.quota.push(at, quota);
  }

  function metrics(snapshot, at) {
    const models = snapshot.models ?? [];
    const total = (field) => models.reduce((sum, m) => sum + (m[field] || 0), 0);
    $("stat-rate").textContent = Panel.number(snapshot.request_rate ?? total("request_rate"), 2);
    $("stat-errors").textContent = Panel.number(snapshot.error_rate ?? total("error_rate"), 3);
    $("stat-queue").textContent = Panel.number(snapshot.media_queue_depth);
    charts.rate.push(at, byModel(models, "request_rate"));
    charts.errors.push(at, byModel(models, "error_rate"));
    charts.latency.push(at, byModel(models, "latency_p95_seconds"));
    charts.ttft.push(at, byModel(models, "ttft_p95_seconds"));
    if (snapshot.media_queue_depth !== undefined) charts.queue.push(at, { queued: snapshot.media_queue_depth });
  }

  function show(snapshot) {
    const at = snapshot.at ?? Date.now() / 1000;
    if (snapshot.pool) pool(snapshot.pool, at);
    metrics(snapshot, at);
    $("dashboard-updated").textContent = `Updated ${new Date(at * 1000).toLocaleTimeString()}`;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  async function poll() {
    try {
      const snapshot = await request("GET", "/dashboard").catch(async (error) => {
        if (error.status !== 404) throw error;
        return { pool: await request("GET", "/pool") };
      });
      if (snapshot && !snapshot.pool) snapshot.pool = await request("GET", "/pool");
      show(snapshot);
    } catch (error) {
      if (error.status !== 401) $("dashboard-updated").textContent = `Could not refresh: ${error.message}`;
    }
  }

  Panel.ready.then(() => {
    poll();
    setInterval(poll, POLL_MS);
  });
})();
