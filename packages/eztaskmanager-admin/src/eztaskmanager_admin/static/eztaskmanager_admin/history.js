/* django-eztaskmanager: the task list's history bars, asked for once the page shows.
 *
 * Each row's history cell comes as a placeholder (data-eztm-history="<task id>"). The
 * bars of the page's rows come from the URL of #eztm-history (data-url), a few hundred
 * tasks a request, as SVG markup the server wrote and escaped, and take the
 * placeholders' places. A placeholder a refresh has replaced meanwhile (refresh.js) is
 * left alone. When the bars cannot come, the placeholder says so in its tooltip. Once
 * every request has answered, the page's <html> says how (data-eztm-bars: "shown" or
 * "failed") and an "eztm:history" event goes out.
 */
(function () {
  "use strict";
  var CHUNK = 200;

  function start() {
    var source = document.getElementById("eztm-history");
    var slots = Array.prototype.slice.call(document.querySelectorAll("[data-eztm-history]"));
    if (!source || !slots.length) {
      return;
    }
    var asks = [];
    for (var first = 0; first < slots.length; first += CHUNK) {
      asks.push(ask(source.getAttribute("data-url"), slots.slice(first, first + CHUNK)));
    }
    Promise.all(asks).then(function (answered) {
      document.documentElement.dataset.eztmBars = answered.every(Boolean) ? "shown" : "failed";
      document.dispatchEvent(new CustomEvent("eztm:history"));
    });
  }

  function ask(url, slots) {
    var ids = slots.map(function (slot) {
      return slot.getAttribute("data-eztm-history");
    });
    return window
      .fetch(url + "?" + new URLSearchParams({ ids: ids.join(",") }).toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        slots.forEach(function (slot) {
          if (slot.isConnected) {
            slot.outerHTML = answer.bars[slot.getAttribute("data-eztm-history")] || "";
          }
        });
        return true;
      })
      .catch(function (error) {
        slots.forEach(function (slot) {
          slot.removeAttribute("aria-busy");
          slot.classList.add("eztm-sparkline-failed");
          slot.title = String(error.message || error);
        });
        return false;
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
