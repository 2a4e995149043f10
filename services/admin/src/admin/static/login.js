// The login form: POST /api/auth/login, then on to the page that sent us here.
"use strict";

(() => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const target = () => {
    const next = new URLSearchParams(location.search).get("next") || "";
    return next.startsWith(Panel.base + "/") && !next.startsWith(Panel.base + "/login") ? next : `${Panel.base}/dashboard`;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await Panel.request("POST", "/auth/login", { password: form.password.value }, { redirect: false });
      location.assign(target());
    } catch (failure) {
      error.textContent = failure.status === 429
        ? `Too many wrong passwords: locked out, try again in ${failure.retryAfter || "a while"} seconds.`
        : failure.status === 401 || failure.status === 403 ? "Wrong password." : failure.message;
      error.dataset.status = String(failure.status || "");
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
