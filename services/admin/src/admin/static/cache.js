// Cache: size against the limit, files by type, clear (all or one type).
"use strict";

(() => {
  const { el, request, attempt } = Panel;
  const $ = (id) => document.getElementById(id);

  function byType(data) {
    const types = data.by_type ?? data.types ?? {};
    return Array.isArray(types) ? types : Object.entries(types).map(([type, v]) => ({ type, ...(typeof v === "object" ? v : { files: v }) }));
  }

  async function load() {
    const data = await attempt(() => request("GET", "/cache"));
    if (!data) return;
    const size = data.size_bytes ?? data.bytes ?? data.size ?? 0;
    const limit = data.limit_bytes ?? data.limit ?? 0;
    $("cache-bar").max = limit || 1;
    $("cache-bar").value = Math.min(size, limit || 1);
    $("cache-size").textContent = limit ? `${Panel.bytes(size)} of ${Panel.bytes(limit)}` : Panel.bytes(size);
    $("cache-where").textContent = data.path ? `in ${data.path}` : "";
    const rows = byType(data).map((t) => el("tr", { dataset: { type: t.type } },
      el("td", {}, t.type), el("td", { class: "num" }, Panel.number(t.files ?? t.count)),
      el("td", { class: "num" }, Panel.bytes(t.bytes ?? t.size_bytes ?? t.size)),
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
