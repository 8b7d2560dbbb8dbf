// The configuration page inside Saleor's Dashboard. The Dashboard hands this page its
// token by postMessage (AppBridge: "handshake", then "tokenRefresh" before it expires);
// every call to the App's API carries it, with the Saleor API URL, and the App verifies it.
(function () {
  "use strict";

  const main = document.querySelector("main");
  const apiUrl = main.dataset.api;
  const saleorApiUrl = new URLSearchParams(window.location.search).get("saleorApiUrl") || "";
  // Messages count only from the Dashboard that embeds this page: the referrer's origin,
  // as app-sdk takes it, or the API's own when the Dashboard sends no referrer.
  const dashboardOrigin = originOf(document.referrer) || originOf(saleorApiUrl);
  const form = document.getElementById("configuration");
  const channel = document.getElementById("channel");
  const status = document.getElementById("status");
  const saveButton = form.querySelector("button[type=submit]");
  let token = null;

  function originOf(url) {
    try {
      return url ? new URL(url).origin : null;
    } catch (error) {
      return null;
    }
  }

  // An AppBridge action for the Dashboard (e.g. a notification toast).
  function dispatch(type, payload) {
    if (window.parent === window || !dashboardOrigin) return;
    const actionId = window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    window.parent.postMessage({ type: type, payload: Object.assign({ actionId: actionId }, payload) }, dashboardOrigin);
  }

  window.addEventListener("message", function (event) {
    const message = event.data;
    if (event.origin !== dashboardOrigin || !message || typeof message !== "object") return;
    const payload = message.payload || {};
    if ((message.type === "handshake" || message.type === "tokenRefresh") && typeof payload.token === "string") {
      const first = token === null;
      token = payload.token;
      if (first) loadChannels();
    }
  });
  dispatch("notifyReady", {});

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: method,
        headers: { "authorization-bearer": token, "saleor-api-url": saleorApiUrl, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      return { ok: false, status: 0, data: { error: "The App could not be reached; try again." } };
    }
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      // Not JSON: a proxy's error page; the status code says enough.
    }
    return { ok: response.ok, status: response.status, data: data };
  }

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function fail(result) {
    setStatus(result.data.error || "The App answered with an error (HTTP " + result.status + ").", "error");
  }

  function channelPath(slug) {
    return apiUrl + "/" + encodeURIComponent(slug);
  }

  function fields() {
    return Array.from(form.querySelectorAll("[data-field]")).map(function (row) {
      return { name: row.dataset.field, input: row.querySelector("input, select, textarea"), row: row };
    });
  }

  function clearProblems() {
    form.querySelectorAll(".problem").forEach(function (element) {
      element.textContent = "";
    });
  }

  function fill(values) {
    fields().forEach(function (field) {
      const value = values[field.name];
      if (field.input.type === "checkbox") {
        field.input.checked = Boolean(value);
      } else if (field.input.type === "password") {
        field.input.value = "";
        field.row.querySelector(".stored").textContent = value
          ? "Stored, ending in " + value + ". Leave empty to keep it."
          : "Not set.";
      } else if (Array.isArray(value)) {
        field.input.value = value.join("\n");
      } else {
        field.input.value = value == null ? "" : value;
      }
    });
  }

  function markConfigured(option, configured) {
    option.text = option.dataset.name + " (" + option.value + ")" + (configured ? "" : " (not configured)");
  }

  function showCallback(url) {
    document.getElementById("callback").hidden = !url;
    document.getElementById("callback-url").value = url || "";
  }

  async function loadChannels() {
    setStatus("Loading the channels…");
    const result = await api("GET", apiUrl);
    if (!result.ok) return fail(result);
    channel.replaceChildren();
    result.data.channels.forEach(function (item) {
      const option = new Option("", item.slug);
      option.dataset.name = item.name;
      channel.add(option);
      markConfigured(option, item.configured);
    });
    if (!channel.options.length) return setStatus("This Saleor has no channels yet.");
    form.hidden = false;
    await loadChannel();
  }

  async function loadChannel() {
    const slug = channel.value;
    clearProblems();
    showCallback(null);
    const result = await api("GET", channelPath(slug));
    if (slug !== channel.value) return; // another channel was chosen meanwhile
    if (!result.ok) return fail(result);
    fill(result.data.values);
    showCallback(result.data.callbackUrl);
    setStatus(result.data.configured ? "Configured." : "Not configured yet: fill in the form and save.");
  }

  channel.addEventListener("change", loadChannel);

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const values = {};
    fields().forEach(function (field) {
      if (field.input.type === "checkbox") values[field.name] = field.input.checked;
      else if (field.input.tagName === "TEXTAREA") values[field.name] = field.input.value.split(/\s+/).filter(Boolean);
      else values[field.name] = field.input.value;
    });
    clearProblems();
    saveButton.disabled = true;
    channel.disabled = true; // the answer fills the form of the channel it was saved for
    setStatus("Checking the credentials with Optty…");
    try {
      const result = await api("POST", channelPath(channel.value), values);
      if (result.ok) {
        fill(result.data.values);
        showCallback(result.data.callbackUrl);
        markConfigured(channel.selectedOptions[0], true);
        setStatus("Saved. Optty accepted the credentials.", "saved");
        dispatch("notification", { status: "success", title: "Optty", text: "Configuration saved." });
      } else if (result.data.problems) {
        Object.entries(result.data.problems).forEach(function ([name, message]) {
          const element = document.getElementById(name + "-problem") || document.getElementById("form-problem");
          element.textContent = (element.textContent ? element.textContent + " " : "") + message;
        });
        setStatus("Not saved: see the problems below.", "error");
        dispatch("notification", { status: "error", title: "Optty", text: "Configuration not saved." });
      } else {
        fail(result);
      }
    } finally {
      saveButton.disabled = false;
      channel.disabled = false;
    }
  });
})();
