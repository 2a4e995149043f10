// Cache: size against the limit, files by type, clear (all or one type).
"use strict";

(() => {
  const { el, request, attempt } = Panel;
  const $ = (id) => document.getElementById(id);

  function byType(data) {
    const types = data.by_type ?? {};
    return Array.isArray(types) ? types : Object.entries(types).map(([type, v]) => ({ type, ...(typeof v === "object" ? v : { files: v }) }));
  }

  async function load() {
    const data = await attempt(() => request("GET", "/cache"));
    if (!data) return;
    const size = data.total_bytes ?? 0;
    const limit = data.limit_bytes ?? 0;
    $("cache-bar").max = limit || 1;
    $("cache-bar").value = Math.min(size, limit || 1);
    const files = `${Panel.number(data.files ?? 0)} file${data.files === 1 ? "" : "s"}`;
    $("cache-size").textContent = limit ? `${Panel.bytes(size)} of ${Panel.bytes(limit)} (${files})` : `${Panel.bytes(size)} (${files})`;
    const clean = data.auto_clean ? "oldest files are removed past the limit" : "automatic cleaning is off";
    $("cache-where").textContent = [data.root ? `In ${data.root}` : "", data.scope_note, clean].filter(Boolean).join(" · ");
    const rows = byType(data).map((t) => el("tr", { dataset: { type: t.type } },
      el("td", {}, t.type), el("td", { class: "num" }, Panel.number(t.files)),
      el("td", { class: "num" }, Panel.bytes(t.bytes)),
      el("td", {}, el("button", { type: "button", class: "button", onclick: () => clear(t.type) }, "Clear"))));
    $("cache-body").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "4", class: "empty" }, "The cache is empty."))]));
    $("cache-table").dataset.loaded = "true";
  }

  async function clear(type) {
    if (!confirm(type ? `Delete every cached ${type} file?` : "Delete every cached file?")) return;
    const path = type ? `/cache?type=${encodeURIComponent(type)}` : "/cache";
    const done = await attempt(() => request("DELETE", path), "Cache cleared");
    if (done !== undefined) load();
  }

  $("cache-clear").addEventListener("click", () => clear(null));
  Panel.ready.then(load);
})();
