// Settings: every setting grouped by section with its description, default, current value
// and where that comes from; edits are shown as a diff and saved in one validated PUT.
"use strict";

(() => {
  const { el, request, attempt } = Panel;
  const $ = (id) => document.getElementById(id);
  const edits = new Map();
  let known = new Map();

  const sourceLabels = { override: "set here", environment: "environment", file: "config file", default: "default" };

  function display(value) {
    if (Array.isArray(value)) return value.join(", ");
    if (value === null || value === undefined || value === "") return "—";
    return String(value);
  }

  function parse(setting, raw) {
    const type = setting.type;
    if (type === "boolean") return raw;
    if (type === "integer") return raw === "" ? raw : Number.parseInt(raw, 10);
    if (type === "number") return raw === "" ? raw : Number(raw);
    if (type.startsWith("list[")) {
      const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
      return type === "list[integer]" || type === "list[number]" ? items.map(Number) : items;
    }
    return raw;
  }

  function input(setting) {
    const id = `setting-${setting.key}`;
    const disabled = setting.editable === false;
    let control;
    if (setting.type === "boolean") {
      control = el("input", { type: "checkbox", id, disabled });
      control.checked = Boolean(setting.value);
    } else if (setting.type === "choice") {
      control = el("select", { id, disabled }, (setting.choices || []).map((c) => el("option", { value: c }, String(c))));
      control.value = setting.value;
    } else {
      const type = setting.secret ? "password" : ["integer", "number"].includes(setting.type) ? "number" : "text";
      control = el("input", { type, id, disabled, step: setting.type === "number" ? "any" : undefined,
        placeholder: setting.secret ? (setting.value ? "set (hidden): type to replace" : "empty") : undefined,
        autocomplete: setting.secret ? "new-password" : "off" });
      control.value = setting.secret ? "" : display(setting.value) === "—" ? "" : Array.isArray(setting.value) ? setting.value.join(", ") : String(setting.value);
    }
    control.dataset.key = setting.key;
    control.addEventListener("change", () => changed(setting, control));
    if (control.tagName === "INPUT" && control.type !== "checkbox") control.addEventListener("input", () => changed(setting, control));
    return control;
  }

  function changed(setting, control) {
    const raw = control.type === "checkbox" ? control.checked : control.value;
    const value = parse(setting, raw);
    const same = setting.secret ? raw === "" : JSON.stringify(value) === JSON.stringify(setting.value);
    same ? edits.delete(setting.key) : edits.set(setting.key, value);
    control.closest("tr").classList.toggle("changed", !same);
    renderDiff();
  }

  function renderDiff() {
    const rows = [...edits].map(([key, value]) => {
      const setting = known.get(key);
      return el("tr", {}, el("td", { class: "mono" }, key), el("td", {}, display(setting.value)),
        el("td", {}, setting.secret ? "(new secret)" : display(value)), el("td", {}, display(setting.default)));
    });
    $("settings-diff-body").replaceChildren(...rows);
    $("settings-diff").hidden = rows.length === 0;
    $("settings-save").disabled = rows.length === 0;
  }

  function render(sections) {
    known = new Map();
    const blocks = sections.map((section) => {
      const rows = section.settings.map((setting) => {
        known.set(setting.key, setting);
        const notes = [];
        if (setting.restart_required) notes.push("applies after a restart");
        if (setting.editable === false) notes.push("read-only here");
        return el("tr", { dataset: { key: setting.key, differs: String(Boolean(setting.differs)) } },
          el("td", {},
            el("label", { for: `setting-${setting.key}`, class: "mono" }, setting.key),
            el("div", { class: "small" }, setting.description),
            notes.length ? el("div", { class: "small warning" }, notes.join("; ")) : null),
          el("td", {}, input(setting), el("div", { class: "small muted" },
            `default: ${display(setting.default)} · from: `,
            el("span", { class: "pill", dataset: { source: setting.source } }, sourceLabels[setting.source] || setting.source),
            setting.updated_by ? ` · changed by ${setting.updated_by} ${Panel.when(setting.updated_at)}` : "",
            setting.source === "override" ? el("button", { type: "button", class: "button small", onclick: () => reset(setting.key) }, "Reset") : null)));
      });
      return el("section", { class: "card settings-section", id: section.name, "aria-labelledby": `section-${section.name}` },
        el("h2", { id: `section-${section.name}` }, section.name),
        el("div", { class: "table-wrap" }, el("table", {}, el("tbody", {}, rows))));
    });
    $("settings-sections").replaceChildren(...blocks);
    applyFilter();
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  }

  function applyFilter() {
    const needle = $("settings-filter").value.trim().toLowerCase();
    const onlyDiffers = $("settings-show").value === "differs";
    for (const row of document.querySelectorAll("#settings-sections tr[data-key]")) {
      const matches = !needle || row.textContent.toLowerCase().includes(needle);
      row.hidden = !matches || (onlyDiffers && row.dataset.differs !== "true" && !edits.has(row.dataset.key));
    }
    for (const section of document.querySelectorAll("#settings-sections section")) {
      section.hidden = !section.querySelector("tr[data-key]:not([hidden])");
    }
  }

  async function load() {
    const data = await attempt(() => request("GET", "/settings"));
    if (!data) return;
    edits.clear();
    renderDiff();
    render(Array.isArray(data) ? data : data.sections);
    $("settings-sections").dataset.loaded = "true";
  }

  async function reset(key) {
    const done = await attempt(() => request("DELETE", `/settings/${encodeURIComponent(key)}`), `${key} reset`);
    if (done !== undefined) load();
  }

  $("settings-filter").addEventListener("input", applyFilter);
  $("settings-show").addEventListener("change", applyFilter);
  $("settings-save").addEventListener("click", async () => {
    const error = $("settings-error");
    error.hidden = true;
    for (const row of document.querySelectorAll(".invalid")) row.classList.remove("invalid");
    try {
      await request("PUT", "/settings", { values: Object.fromEntries(edits) });
      Panel.toast("Settings saved");
      await load();
    } catch (failure) {
      const problems = failure.body?.error?.detail?.invalid ?? failure.body?.detail?.invalid;
      if (problems && typeof problems === "object") {
        for (const key of Object.keys(problems)) document.querySelector(`tr[data-key="${CSS.escape(key)}"]`)?.classList.add("invalid");
        error.textContent = Object.entries(problems).map(([k, v]) => `${k}: ${v}`).join("; ");
      } else {
        error.textContent = failure.message;
      }
      error.hidden = false;
    }
  });

  Panel.ready.then(load);
})();
