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

    push(at, values, { draw = true } = {}) {
      this.times.push(at);
      for (const name of Object.keys(values)) {
        if (!this.lines.has(name)) this.lines.set(name, new Array(this.times.length - 1).fill(null));
      }
      for (const [name, points] of this.lines) points.push(values[name] ?? null);
      if (this.times.length > KEEP) {
        this.times.shift();
        for (const points of this.lines.values()) points.shift();
      }
      if (draw) this.draw();
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
        legend: { live: false },
        axes: [
          { space: 90, values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString()) },
          { size: 56, values: (u, ticks) => ticks.map((t) => `${+t.toFixed(this.digits)}`) },
        ],
        series: [{}, ...names.map((name, i) => ({ label: name, stroke: palette[i % palette.length], width: 2, value: format, spanGaps: true }))],
      }, data, this.target);
    }

    width() {
      return Math.max(220, (this.target.clientWidth || 320) - 4);
    }

    resize() {
      if (this.plot) this.plot.setSize({ width: this.width(), height: 200 });
    }
  }

  const charts = {
    rate: new TimeChart($("chart-rate"), { digits: 2 }),
    errors: new TimeChart($("chart-errors"), { digits: 3 }),
    latency: new TimeChart($("chart-latency"), { unit: " s", digits: 3 }),
    ttft: new TimeChart($("chart-ttft"), { unit: " s", digits: 3 }),
    queue: new TimeChart($("chart-queue"), { digits: 0 }),
    quota: new TimeChart($("chart-quota"), { digits: 0 }),
  };
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

  // Figures drawn from the answer's own history (kept by the admin service, so a page
  // opened late still shows the recent past) or, for the rest, collected here per answer.
  function fromHistory(chart, history, pick) {
    chart.times = [];
    chart.lines = new Map();
    for (const point of history) chart.push(point.t, pick(point), { draw: false });
    chart.draw();
  }

  function perModel(models, pick) {
    const out = {};
    for (const row of models || []) {
      const value = pick(row);
      if (value !== null && value !== undefined) out[row.model] = value;
    }
    return out;
  }

  function poolTable(stats) {
    $("stat-accounts").textContent = Panel.number(stats.total_accounts);
    const rows = (stats.tiers || []).map((tier) => el("tr", { dataset: { tier: tier.tier } },
      el("td", {}, tier.tier),
      el("td", {}, Object.entries(tier.by_status || {}).map(([status, n]) => el("span", {}, Panel.statusPill(status), ` ${n} `))),
      el("td", { class: "small" }, Object.entries(tier.remaining_by_mode || {}).map(([mode, n]) => `${mode}: ${Panel.number(n)}`).join(" · ") || "—")));
    $("pool-body").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "3", class: "empty" }, "No accounts in the pool."))]));
  }

  let lastScrape = null;
  function figures(board) {
    const at = board.scraped_at ?? Date.now() / 1000;
    const waiting = board.media?.queue_depth?.waiting ?? 0;
    $("stat-inflight").textContent = Panel.number(board.pool?.leases_in_flight);
    $("stat-rate").textContent = Panel.number(board.requests_per_second, 2);
    $("stat-errors").textContent = board.error_ratio === null || board.error_ratio === undefined
      ? Panel.number(board.errors_per_second, 2) : `${Panel.number(board.error_ratio * 100, 1)} %`;
    $("stat-queue").textContent = Panel.number(waiting);
    const history = board.history || [];
    fromHistory(charts.rate, history, (p) => ({ requests: p.requests_per_second, errors: p.errors_per_second }));
    fromHistory(charts.errors, history, (p) => ({
      "error share": p.requests_per_second ? (p.errors_per_second || 0) / p.requests_per_second : null,
    }));
    fromHistory(charts.latency, history, (p) => p.p90_latency_by_model || {});
    fromHistory(charts.queue, history, (p) => ({ waiting: p.queue_waiting, "leases in flight": p.leases_in_flight }));
    if (at !== lastScrape) {
      lastScrape = at;
      charts.ttft.push(at, perModel(board.models, (row) => row.ttft_seconds?.p90));
      const quota = {};
      for (const row of board.pool?.remaining_quota || []) quota[row.mode] = (quota[row.mode] || 0) + row.remaining;
      charts.quota.push(at, quota);
    }
    const where = board.source ? ` from ${board.source}` : "";
    $("dashboard-updated").textContent = `Updated ${new Date(at * 1000).toLocaleTimeString()}${where}`;
  }

  async function poll() {
    try {
      poolTable(await request("GET", "/pool"));
      const board = await request("GET", "/dashboard").catch((error) => {
        if (error.status === 404 || error.status === 503) return null;
        throw error;
      });
      if (board) figures(board);
      else $("dashboard-updated").textContent = "Metrics are not available here: pool figures only.";
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    } catch (error) {
      if (error.status !== 401) $("dashboard-updated").textContent = `Could not refresh: ${error.message}`;
    }
  }

  Panel.ready.then(() => {
    poll();
    setInterval(poll, POLL_MS);
  });
})();
