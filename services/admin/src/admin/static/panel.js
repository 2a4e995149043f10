// Shared by every page: the API client (session cookie + CSRF header), the session check
// that sends a logged-out browser to the login page, the default-password banner, toasts
// and a few formatters. Pages add their own script named after the page.
"use strict";

const Panel = (() => {
  const base = document.body.dataset.base || "";
  const api = base + "/api";

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  class ApiError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  function toLogin() {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`${base}/login?next=${next}`);
  }

  function errorMessage(status, body) {
    if (body && typeof body === "object") {
      const detail = body.detail ?? body.error?.message ?? body.message;
      if (typeof detail === "string") return detail;
      if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
      if (detail) return JSON.stringify(detail);
    }
    return `HTTP ${status}`;
  }

  // One request to the JSON API. Changes carry the CSRF token from the g2a_csrf cookie.
  async function request(method, path, body, { redirect = true } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = cookie("g2a_csrf");
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(api + path, init);
    if (response.status === 401 && redirect) {
      toLogin();
      throw new ApiError(401, "not logged in", null);
    }
    const text = await response.text();
    let parsed = null;
    if (text) {
      try { parsed = JSON.parse(text); } catch { parsed = text; }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, errorMessage(response.status, parsed), parsed);
      error.retryAfter = response.headers.get("Retry-After");
      throw error;
    }
    return parsed;
  }

  function toast(message, { error = false } = {}) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "toast" + (error ? " error" : "");
    item.setAttribute("role", error ? "alert" : "status");
    item.textContent = message;
    box.append(item);
    setTimeout(() => item.remove(), error ? 8000 : 4000);
  }

  // Run an action; show what went wrong instead of failing silently.
  async function attempt(action, done) {
    try {
      const result = await action();
      if (done) toast(done);
      return result;
    } catch (error) {
      if (error.status !== 401) toast(error.message || String(error), { error: true });
      return undefined;
    }
  }

  // Server-sent events from the API; onMessage gets each event's parsed data and name.
  function events(path, onMessage, onError) {
    const source = new EventSource(api + path, { withCredentials: true });
    const handle = (event) => {
      let data = event.data;
      try { data = JSON.parse(event.data); } catch { /* plain text event */ }
      onMessage(data, event.type, source);
    };
    source.onmessage = handle;
    for (const name of ["progress", "item", "summary", "done", "finished", "cancelled", "snapshot", "update"]) {
      source.addEventListener(name, (event) => { if (event.data !== undefined) handle(event); });
    }
    source.onerror = () => { if (onError) onError(source); };
    return source;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function when(value) {
    if (!value) return "—";
    const at = typeof value === "number" ? new Date(value * (value < 1e12 ? 1000 : 1)) : new Date(value);
    if (Number.isNaN(at.getTime())) return String(value);
    return at.toLocaleString();
  }

  function number(value, digits = 0) {
    if (value === undefined || value === null || Number.isNaN(value)) return "—";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
  }

  function bytes(value) {
    if (value === undefined || value === null) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let n = Number(value), i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${n.toLocaleString(undefined, { maximumFractionDigits: i ? 1 : 0 })} ${units[i]}`;
  }

  function statusPill(status) {
    const text = String(status ?? "—");
    const kind = /^(active|ok|enabled|healthy|done|succeeded)$/i.test(text) ? "ok"
      : /^(cooling|cooldown|limited|rate_limited|exhausted|pending|running)$/i.test(text) ? "warn"
      : /^(invalid|expired|disabled|failed|error|banned|revoked)$/i.test(text) ? "bad" : "";
    return el("span", { class: `pill ${kind}`.trim(), text });
  }

  async function checkSession() {
    const session = await request("GET", "/auth/session", undefined, { redirect: false }).catch(() => null);
    if (session && session.authenticated === false) { toLogin(); return null; }
    const banner = document.getElementById("default-password-banner");
    if (banner && session && session.default_password) banner.hidden = false;
    return session;
  }

  function setupLogout() {
    const button = document.getElementById("logout");
    if (!button) return;
    button.addEventListener("click", async () => {
      await request("POST", "/auth/logout", undefined, { redirect: false }).catch(() => null);
      location.assign(`${base}/login`);
    });
  }

  const ready = document.body.dataset.page === "login" ? Promise.resolve(null) : checkSession();
  setupLogout();

  return { base, api, request, toast, attempt, events, el, when, number, bytes, statusPill, ready, ApiError, cookie };
})();
