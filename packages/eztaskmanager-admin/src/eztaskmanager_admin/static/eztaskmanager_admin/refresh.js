/* django-eztaskmanager: keep the admin pages that show runs up to date without a reload.
 *
 * A page that may change while it is open (the task list, a task's page, a report's
 * page) carries a JSON config (#eztm-refresh-config): {"active": true} while a run of
 * what it shows is queued, running or stopping, "due" (milliseconds since the epoch)
 * when a scheduled run comes due. While active, the page asks for itself again every
 * 2 s (the server leaves the pending admin messages alone for those requests), and
 * replaces each element marked data-eztm-refresh="key" by its newer copy. Around a due
 * time it asks every 3 s for two minutes, so that a run the scheduler starts shows up.
 * Otherwise it asks nothing. It waits while the tab is hidden, and never touches a
 * part the user has edited (data-eztm-keep-edits) or holds the focus.
 */
(function () {
  "use strict";

  if (document.readyState === "loading") {
    // Loaded in the page's head (the admin's media): the config comes later in the page.
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  function start() {
  var ACTIVE_POLL = 2000;
  var DUE_POLL = 3000;
  var DUE_WINDOW = 120000;
  var LONGEST_WAIT = 600000;

  function readConfig(doc) {
    var element = doc.getElementById("eztm-refresh-config");
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent) || {};
    } catch (error) {
      return null;
    }
  }

  var config = readConfig(document);
  if (!config) {
    return;
  }
  var timer = null;
  var failures = 0;
  var waitingForVisible = false;

  function nextDelay() {
    if (config.active) {
      return ACTIVE_POLL;
    }
    if (config.due) {
      var now = Date.now();
      if (now < config.due) {
        return Math.min(config.due - now + 1500, LONGEST_WAIT);
      }
      if (now - config.due < DUE_WINDOW) {
        return DUE_POLL;
      }
    }
    return null;
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = null;
    if (delay === undefined) {
      delay = nextDelay();
    }
    if (delay !== null) {
      timer = window.setTimeout(refresh, delay);
    }
  }

  function keepsFocus(element) {
    var focused = document.activeElement;
    return focused && focused !== document.body && element.contains(focused);
  }

  function apply(doc) {
    var fresh = doc.querySelectorAll("[data-eztm-refresh]");
    var changed = 0;
    Array.prototype.forEach.call(fresh, function (newer) {
      var key = newer.getAttribute("data-eztm-refresh");
      var current = document.querySelector(
        '[data-eztm-refresh="' + window.CSS.escape(key) + '"]'
      );
      if (!current || current.innerHTML === newer.innerHTML) {
        return;
      }
      if (current.hasAttribute("data-eztm-keep-edits") && current.dataset.eztmEdited) {
        return;
      }
      if (keepsFocus(current)) {
        return;
      }
      current.innerHTML = newer.innerHTML;
      changed += 1;
    });
    document.documentElement.dataset.eztmRefreshed = String(
      Number(document.documentElement.dataset.eztmRefreshed || 0) + 1
    );
    if (changed) {
      document.dispatchEvent(new CustomEvent("eztm:refreshed", { detail: { changed: changed } }));
    }
  }

  function refresh() {
    timer = null;
    if (document.hidden) {
      waitingForVisible = true;
      return;
    }
    window
      .fetch(window.location.href, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "X-EZTM-Refresh": "1" },
      })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          // Logged out, or the object is gone: stop asking; a reload will say why.
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        apply(doc);
        config = readConfig(doc) || {};
        failures = 0;
        schedule();
      })
      .catch(function () {
        failures += 1;
        if (failures < 5) {
          schedule(5000 * failures);
        }
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && waitingForVisible) {
      waitingForVisible = false;
      refresh();
    }
  });
  // A part the user is editing (a report ticked for deletion) keeps its state.
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var part = event.target.closest && event.target.closest("[data-eztm-keep-edits]");
      if (part) {
        part.dataset.eztmEdited = "1";
      }
    });
  });
  schedule();
  }
})();
