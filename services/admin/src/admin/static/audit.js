// Audit: the audit log, newest first, paged.
"use strict";

(() => {
  const { el, request, attempt } = Panel;
  const $ = (id) => document.getElementById(id);
  const limit = 50;
  let offset = 0;

  function detail(value) {
    if (!value || (typeof value === "object" && !Object.keys(value).length)) return "";
    return typeof value === "object" ? Object.entries(value).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ") : String(value);
  }

  async function load() {
    const data = await attempt(() => request("GET", `/audit?offset=${offset}&limit=${limit}`));
    if (!data) return;
    const items = data.items ?? [];
    $("audit-body").replaceChildren(...(items.length ? items.map((e) => el("tr", {},
      el("td", { class: "small" }, Panel.when(e.at)), el("td", { class: "mono" }, e.action),
      el("td", { class: "mono small" }, e.target), el("td", { class: "hide-narrow" }, e.actor),
      el("td", { class: "mono small" }, e.client), el("td", { class: "hide-narrow small mono" }, detail(e.detail))))
      : [el("tr", {}, el("td", { colspan: "6", class: "empty" }, "Nothing recorded yet."))]));
    const total = data.total ?? items.length;
    $("audit-label").textContent = total ? `${offset + 1}–${offset + items.length} of ${total}` : "";
    $("audit-prev").disabled = offset === 0;
    $("audit-next").disabled = offset + items.length >= total;
    $("audit-table").dataset.loaded = String(total);
  }

  $("audit-prev").addEventListener("click", () => { offset = Math.max(0, offset - limit); load(); });
  $("audit-next").addEventListener("click", () => { offset += limit; load(); });
  Panel.ready.then(load);
})();
