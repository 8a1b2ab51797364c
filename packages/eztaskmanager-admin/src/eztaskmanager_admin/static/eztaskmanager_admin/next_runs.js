/* The next runs of the schedule the task's form describes, before it is saved.
 *
 * Asks the admin's next-runs page as the scheduling fields change (after a short pause)
 * and shows its answer in #eztm-next-runs: the runs in the site's time zone, or why the
 * fields describe no schedule. Every text is set as text.
 */
(function () {
  "use strict";
  var FIELDS = ["scheduling_0", "scheduling_1", "repetition_rate", "repetition_period", "cron"];
  var PAUSE_MS = 300;

  function start() {
    var box = document.getElementById("eztm-next-runs");
    var form = box && box.closest("form");
    if (!form) {
      return;
    }
    var timer = null;
    var asked = 0;

    function query() {
      var params = new URLSearchParams();
      FIELDS.forEach(function (name) {
        var input = form.elements.namedItem(name);
        if (input) {
          params.set(name, input.value);
        }
      });
      return params.toString();
    }

    function show(answer) {
      box.textContent = "";
      if (answer.error) {
        var error = document.createElement("p");
        error.className = "eztm-next-runs-error";
        error.textContent = answer.error;
        box.appendChild(error);
        return;
      }
      if (!answer.runs.length) {
        var none = document.createElement("p");
        none.className = "eztm-next-runs-none";
        none.textContent = box.getAttribute("data-none") || "-";
        box.appendChild(none);
        return;
      }
      var list = document.createElement("ol");
      answer.runs.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        list.appendChild(item);
      });
      box.appendChild(list);
    }

    function ask() {
      var ticket = ++asked;
      fetch(box.getAttribute("data-url") + "?" + query(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (answer) {
          if (answer && ticket === asked) {
            show(answer);
          }
        })
        .catch(function () {});
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, PAUSE_MS);
    }

    FIELDS.forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (input) {
        input.addEventListener("input", later);
        input.addEventListener("change", later);
      }
    });
    // The admin's Today/Now links set the date and time without an input event.
    form.addEventListener("click", function (event) {
      if (event.target.closest(".datetimeshortcuts")) {
        later();
      }
    });
    ask();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
