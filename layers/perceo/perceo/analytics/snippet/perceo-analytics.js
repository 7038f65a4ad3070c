/*! Perceo analytics snippet: page views and clicks, batched, to POST {endpoint}/analytics/beacon.
 *
 * <script src="perceo-analytics.js" data-endpoint="https://api.example.com/prod" data-key="prc_..." defer></script>
 *
 * - data-endpoint: the Perceo API base URL; data-key: an API key with only the `ingest` scope (it can write events,
 *   never read anything, so it may sit in a page); optional data-flush-ms (default 5000), data-max-batch (20).
 * - Page views on load and on SPA navigation (history.pushState/replaceState, popstate, hashchange); clicks on links,
 *   buttons and elements with data-perceo-track (name = the attribute's value, else "click").
 * - Each event has an id (idempotent retries), the anonymous id (localStorage), a session id (new after 30 min idle),
 *   the path, the time; a batch carries sentAt so the server corrects the device clock.
 * - Batches go as text/plain with the key as ?writeKey= (a "simple" request: no CORS preflight, so any origin can
 *   send), with fetch(keepalive) while the page is shown and navigator.sendBeacon when it is hidden or left.
 * - window.perceo.track(name, properties) and window.perceo.identify(userId) for your own events.
 * No cookies, no third-party requests, no build step.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.perceo) return;
  var endpoint = (script.getAttribute("data-endpoint") || "").replace(/\/+$/, "");
  var key = script.getAttribute("data-key") || "";
  if (!endpoint || !key) return;
  var url = endpoint + "/analytics/beacon?writeKey=" + encodeURIComponent(key);
  var flushMs = parseInt(script.getAttribute("data-flush-ms") || "5000", 10);
  var maxBatch = Math.min(parseInt(script.getAttribute("data-max-batch") || "20", 10), 1000);
  var SESSION_IDLE_MS = 30 * 60 * 1000;
  var queue = [];
  var timer = null;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var out = "";
    for (var i = 0; i < 32; i++) out += Math.floor(Math.random() * 16).toString(16);
    return out;
  }

  function stored(name, make) {
    try {
      var value = localStorage.getItem(name);
      if (!value) {
        value = make();
        localStorage.setItem(name, value);
      }
      return value;
    } catch (e) {
      return make();
    }
  }

  var anonymousId = stored("perceo.anonymousId", uuid);
  var userId = null;

  function sessionId(now) {
    try {
      var last = parseInt(localStorage.getItem("perceo.lastSeen") || "0", 10);
      var id = localStorage.getItem("perceo.sessionId");
      if (!id || now - last > SESSION_IDLE_MS) {
        id = uuid();
        localStorage.setItem("perceo.sessionId", id);
      }
      localStorage.setItem("perceo.lastSeen", String(now));
      return id;
    } catch (e) {
      return null;
    }
  }

  function track(name, properties) {
    var now = Date.now();
    var event = {
      eventId: uuid(),
      anonymousId: anonymousId,
      name: String(name).slice(0, 200),
      path: location.pathname || "/",
      timestamp: now,
      properties: properties || {}
    };
    var session = sessionId(now);
    if (session) event.sessionId = session;
    if (userId) event.userId = userId;
    queue.push(event);
    if (queue.length >= maxBatch) flush(false);
    else if (!timer) timer = setTimeout(function () { flush(false); }, flushMs);
  }

  function flush(leaving) {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    while (queue.length) {
      var batch = queue.splice(0, maxBatch);
      var body = JSON.stringify({ events: batch, sentAt: Date.now() });
      if (leaving && navigator.sendBeacon) {
        if (navigator.sendBeacon(url, new Blob([body], { type: "text/plain;charset=UTF-8" }))) continue;
      }
      if (window.fetch) {
        fetch(url, {
          method: "POST",
          mode: "no-cors",
          keepalive: true,
          credentials: "omit",
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          body: body
        }).catch(function () {});
      }
    }
  }

  var lastPath = null;
  function pageView() {
    var path = location.pathname || "/";
    if (path === lastPath) return;
    lastPath = path;
    track("page_view", { title: document.title || undefined, referrer: document.referrer || undefined });
  }

  ["pushState", "replaceState"].forEach(function (method) {
    var original = history[method];
    history[method] = function () {
      var result = original.apply(this, arguments);
      setTimeout(pageView, 0);
      return result;
    };
  });
  window.addEventListener("popstate", pageView);
  window.addEventListener("hashchange", pageView);

  document.addEventListener(
    "click",
    function (event) {
      var target = event.target && event.target.closest
        ? event.target.closest("a,button,[data-perceo-track]")
        : null;
      if (!target) return;
      var name = target.getAttribute("data-perceo-track") || "click";
      track(name, {
        tag: target.tagName.toLowerCase(),
        id: target.id || undefined,
        text: (target.textContent || "").trim().slice(0, 80) || undefined,
        href: target.getAttribute("href") || undefined
      });
    },
    true
  );

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () { flush(true); });

  window.perceo = {
    track: track,
    identify: function (id) { userId = id ? String(id).slice(0, 128) : null; },
    flush: function () { flush(false); }
  };
  pageView();
})();
