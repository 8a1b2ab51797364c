/*
 * The log viewer of django-eztaskmanager: loads a report's lines page by page from the
 * JSON endpoint, keeps them in compact arrays and renders only the rows in sight (a
 * virtual list), so a million-line log never puts a million nodes in the DOM. It asks
 * first for a small page, what the screen shows, then fills the rest in large pages in
 * the background. In live mode it polls for new lines only, and stops when the run has
 * ended; while it follows a run, what the screen shows is the end of the log: it asks
 * for the last lines first, follows the new ones, and fills in the lines before them
 * in the background (the "head").
 *
 * Log text always goes into the page through textContent, never as HTML.
 */
(function () {
  "use strict";

  var LEVEL_CODES = { DEBUG: 1, INFO: 2, WARNING: 3, ERROR: 4, CRITICAL: 4 };
  var LEVEL_BUTTONS = ["ALL", "DEBUG", "INFO", "WARNING", "ERROR"];
  var MAX_SCROLL_PX = 15000000; // below every browser's limit on an element's height
  var REBUILD_CHUNK = 100000; // lines filtered per slice of work, to keep the page responsive
  var OVERSCAN_ROWS = 10;

  function GrowingArray(Type) {
    this.Type = Type;
    this.data = new Type(1024);
    this.length = 0;
  }
  GrowingArray.prototype.push = function (value) {
    if (this.length === this.data.length) {
      var bigger = new this.Type(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  };

  function countRows(text) {
    var rows = 1;
    var at = text.indexOf("\n");
    while (at !== -1) {
      rows++;
      at = text.indexOf("\n", at + 1);
    }
    return rows;
  }

  function LogViewer(root, config) {
    this.root = root;
    this.config = config;
    // The log, one entry per line.
    this.stamps = [];
    this.messages = [];
    this.levelNames = [];
    this.lowered = [];
    this.levels = new GrowingArray(Uint8Array);
    this.rows = new GrowingArray(Int32Array);
    this.counts = { ALL: 0, DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0 };
    // The lines that pass the filters, and the first display row of each.
    this.view = new GrowingArray(Int32Array);
    this.viewRowStart = new GrowingArray(Float64Array);
    this.viewRows = 0;
    this.filterLevel = 0;
    this.query = "";
    this.generation = 0;
    this.rebuilding = false;
    this.raw = false;
    this.sticky = root.querySelector("#eztm-sticky").getAttribute("aria-pressed") === "true";
    this.finished = !!config.finished;
    this.logSize = 0;
    // The line number of messages[0]: above 0 while the lines before the end are loading.
    this.base = 0;
    this.headLoaded = 0;
    this.renderQueued = false;
    this.endPending = false;

    this.container = root.querySelector("#eztm-lines");
    this.spacer = this.container.querySelector(".eztm-spacer");
    this.windowEl = this.container.querySelector(".eztm-window");
    this.rowHeight = this.measureRowHeight();
    this.bind();
  }

  LogViewer.prototype.measureRowHeight = function () {
    var probe = document.createElement("div");
    probe.className = "eztm-line";
    probe.textContent = "0";
    this.windowEl.appendChild(probe);
    var height = probe.getBoundingClientRect().height || 18;
    this.windowEl.removeChild(probe);
    return height;
  };

  LogViewer.prototype.bind = function () {
    var self = this;
    this.buttons = {};
    LEVEL_BUTTONS.forEach(function (name) {
      var button = self.root.querySelector('.eztm-level[data-level="' + name + '"]');
      self.buttons[name] = button;
      button.addEventListener("click", function () {
        self.setLevel(name);
      });
    });
    var search = this.root.querySelector("#eztm-search-input");
    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        self.setQuery(search.value);
      }, 200);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        self.reset();
      }
    });
    this.searchInput = search;
    this.root.querySelector("#eztm-reset").addEventListener("click", function () {
      self.reset();
    });
    var rawButton = this.root.querySelector("#eztm-raw");
    rawButton.addEventListener("click", function () {
      self.raw = !self.raw;
      rawButton.setAttribute("aria-pressed", String(self.raw));
      self.container.classList.toggle("eztm-raw", self.raw);
      self.recycleRows();
      self.queueRender();
    });
    var stickyButton = this.root.querySelector("#eztm-sticky");
    this.stickyButton = stickyButton;
    stickyButton.addEventListener("click", function () {
      self.setSticky(!self.sticky);
    });
    // Scrolling up by hand means "let me read this part": stop following the end.
    this.container.addEventListener("wheel", function (event) {
      if (event.deltaY < 0 && self.sticky) {
        self.setSticky(false);
      }
    });
    this.container.addEventListener("keydown", function (event) {
      if (self.sticky && ["ArrowUp", "PageUp", "Home"].indexOf(event.key) !== -1) {
        self.setSticky(false);
      }
    });
    this.container.addEventListener("scroll", function () {
      self.queueRender();
    });
    window.addEventListener("resize", function () {
      self.queueRender();
    });
  };

  LogViewer.prototype.setSticky = function (on) {
    this.sticky = on;
    this.stickyButton.setAttribute("aria-pressed", String(on));
    if (on) {
      this.scrollToEnd();
    }
  };

  // Filters ------------------------------------------------------------------------------
  LogViewer.prototype.setLevel = function (name) {
    var self = this;
    this.filterLevel = name === "ALL" ? 0 : LEVEL_CODES[name];
    LEVEL_BUTTONS.forEach(function (other) {
      var active = other === name;
      self.buttons[other].classList.toggle("active", active);
      self.buttons[other].setAttribute("aria-pressed", String(active));
    });
    this.rebuildView();
  };

  LogViewer.prototype.setQuery = function (text) {
    this.query = text.trim().toLowerCase();
    this.rebuildView();
  };

  LogViewer.prototype.reset = function () {
    this.searchInput.value = "";
    this.query = "";
    this.setLevel("ALL");
  };

  LogViewer.prototype.matches = function (index) {
    if (this.filterLevel && this.levels.data[index] !== this.filterLevel) {
      return false;
    }
    if (!this.query) {
      return true;
    }
    var lowered = this.lowered[index];
    if (lowered === undefined) {
      lowered = this.lowered[index] = this.messages[index].toLowerCase();
    }
    return lowered.indexOf(this.query) !== -1;
  };

  LogViewer.prototype.addToView = function (index) {
    this.view.push(index);
    this.viewRowStart.push(this.viewRows);
    this.viewRows += this.rows.data[index];
  };

  /* Filter every loaded line again, in slices, so a million lines never block the page. */
  LogViewer.prototype.rebuildView = function (anchor) {
    var self = this;
    var generation = ++this.generation;
    var total = this.messages.length;
    var view = new GrowingArray(Int32Array);
    var starts = new GrowingArray(Float64Array);
    var rows = 0;
    var next = 0;
    this.rebuilding = true;
    function slice() {
      if (generation !== self.generation) {
        return; // a newer filter replaced this one
      }
      var end = Math.min(next + REBUILD_CHUNK, self.messages.length);
      for (var i = next; i < end; i++) {
        if (self.matches(i)) {
          view.push(i);
          starts.push(rows);
          rows += self.rows.data[i];
        }
      }
      next = end;
      if (next < self.messages.length) {
        setTimeout(slice, 0);
        return;
      }
      self.view = view;
      self.viewRowStart = starts;
      self.viewRows = rows;
      self.rebuilding = false;
      if (self.sticky) {
        self.scrollToEnd();
      } else {
        self.scrollToLine(anchor === undefined ? -1 : anchor);
      }
    }
    if (total <= REBUILD_CHUNK) {
      slice();
    } else {
      setTimeout(slice, 0);
    }
  };

  // The log --------------------------------------------------------------------------------
  /* Store one line at the end of ``log`` (the viewer, or the head being loaded) and count
   * its level; return its index. Lines come as the endpoint sends them: [line, timestamp,
   * level, message] arrays (what the viewer asks for), {line, timestamp, level, message}
   * objects, or plain strings. */
  function store(log, counts, line) {
    var stamp = "";
    var levelName = "";
    var message;
    if (Array.isArray(line)) {
      stamp = String(line[1]);
      levelName = String(line[2] || "");
      message = String(line[3]);
    } else if (typeof line === "string") {
      message = line;
    } else {
      stamp = String(line.timestamp || "");
      levelName = String(line.level || "");
      message = String(line.message);
    }
    var code = LEVEL_CODES[levelName] || 0;
    log.stamps.push(stamp);
    log.levelNames.push(levelName);
    log.messages.push(message);
    log.levels.push(code);
    log.rows.push(countRows(message));
    counts.ALL++;
    if (code) {
      counts[levelName === "CRITICAL" ? "ERROR" : levelName]++;
    }
    return log.messages.length - 1;
  }

  LogViewer.prototype.append = function (lines) {
    for (var k = 0; k < lines.length; k++) {
      var index = store(this, this.counts, lines[k]);
      if (!this.rebuilding && this.matches(index)) {
        this.addToView(index);
      }
    }
    // While a rebuild runs, it reaches the new lines itself: it filters up to the end.
    this.updateCounts();
    if (this.sticky) {
      this.scrollToEnd();
    }
    this.queueRender();
  };

  /* Put the lines before the end (the head, all loaded) before those already here, and
   * filter them all again, keeping the line at the top of the screen where it is. */
  LogViewer.prototype.prepend = function (head) {
    var n = head.messages.length;
    var self = this;
    var anchor = this.view.length ? this.view.data[this.lineAtRow(this.firstRowShown())] : -1;
    ["stamps", "levelNames", "messages"].forEach(function (name) {
      self[name] = head[name].concat(self[name]);
    });
    this.lowered = new Array(n).concat(this.lowered);
    ["levels", "rows"].forEach(function (name) {
      var joined = new head[name].Type(n + self[name].length + 1024);
      joined.set(head[name].data.subarray(0, n));
      joined.set(self[name].data.subarray(0, self[name].length), n);
      self[name].data = joined;
      self[name].length += n;
    });
    Object.keys(head.counts).forEach(function (name) {
      self.counts[name] += head.counts[name];
    });
    // Until the view is built again, the lines in it keep their places.
    for (var k = 0; k < this.view.length; k++) {
      this.view.data[k] += n;
    }
    this.base -= n;
    this.updateCounts();
    this.rebuildView(anchor < 0 ? -1 : anchor + n);
  };

  LogViewer.prototype.updateCounts = function () {
    var self = this;
    LEVEL_BUTTONS.forEach(function (name) {
      var button = self.buttons[name];
      button.querySelector(".eztm-count").textContent = self.counts[name].toLocaleString();
      if (name !== "ALL" && self.counts[name] > 0) {
        button.hidden = false;
      }
    });
  };

  // Rendering ------------------------------------------------------------------------------
  LogViewer.prototype.queueRender = function () {
    var self = this;
    if (this.renderQueued) {
      return;
    }
    this.renderQueued = true;
    window.requestAnimationFrame(function () {
      self.renderQueued = false;
      self.render();
    });
  };

  /* Scroll to the last line at the next render, once the spacer has its new height. */
  LogViewer.prototype.scrollToEnd = function () {
    this.endPending = true;
    this.queueRender();
  };

  LogViewer.prototype.visibleRows = function () {
    return Math.ceil((this.container.clientHeight || 400) / this.rowHeight) + OVERSCAN_ROWS;
  };

  /* The display row at the top of the screen. A view too tall for the browser maps the
   * scroll position onto its rows proportionally (``scrollToLine`` does the reverse). */
  LogViewer.prototype.firstRowShown = function () {
    var fullHeight = this.viewRows * this.rowHeight;
    if (fullHeight <= MAX_SCROLL_PX) {
      return Math.floor(this.container.scrollTop / this.rowHeight);
    }
    var viewport = this.container.clientHeight || 400;
    var fraction = this.container.scrollTop / Math.max(1, MAX_SCROLL_PX - viewport);
    return Math.floor(Math.min(1, fraction) * Math.max(0, this.viewRows - this.visibleRows()));
  };

  /* Scroll so that line ``index`` (or the first shown after it) is at the top; -1: the top. */
  LogViewer.prototype.scrollToLine = function (index) {
    var position = 0;
    if (index >= 0) {
      // The first line of the view at or after ``index`` (line numbers are whole).
      position = Math.min(
        bisectRight(this.view.data, this.view.length, index - 1),
        Math.max(this.view.length - 1, 0)
      );
    }
    var row = this.view.length ? this.viewRowStart.data[position] : 0;
    var fullHeight = this.viewRows * this.rowHeight;
    this.spacer.style.height = Math.min(fullHeight, MAX_SCROLL_PX) + "px";
    if (fullHeight <= MAX_SCROLL_PX) {
      this.container.scrollTop = row * this.rowHeight;
    } else {
      var viewport = this.container.clientHeight || 400;
      var fraction = row / Math.max(1, this.viewRows - this.visibleRows());
      this.container.scrollTop = fraction * (MAX_SCROLL_PX - viewport);
    }
    this.queueRender();
  };

  LogViewer.prototype.recycleRows = function () {
    this.windowEl.textContent = "";
  };

  /* How many of the first ``length`` values of the sorted ``data`` are at most ``value``. */
  function bisectRight(data, length, value) {
    var low = 0;
    var high = length;
    while (low < high) {
      var middle = (low + high) >> 1;
      if (data[middle] <= value) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  /* The index in the view of the line that holds display row ``row``. */
  LogViewer.prototype.lineAtRow = function (row) {
    return Math.max(bisectRight(this.viewRowStart.data, this.view.length, row) - 1, 0);
  };

  LogViewer.prototype.render = function () {
    var rowHeight = this.rowHeight;
    var fullHeight = this.viewRows * rowHeight;
    var spacerHeight = Math.min(fullHeight, MAX_SCROLL_PX);
    this.spacer.style.height = spacerHeight + "px";
    if (this.endPending) {
      this.endPending = false;
      this.container.scrollTop = this.container.scrollHeight;
    }
    this.root.querySelector("#eztm-shown").textContent = this.view.length.toLocaleString();
    this.root.querySelector("#eztm-loaded").textContent = this.messages.length.toLocaleString();

    var visibleRows = this.visibleRows();
    var firstRow = this.firstRowShown();
    var top = fullHeight <= MAX_SCROLL_PX ? firstRow * rowHeight : this.container.scrollTop;
    var rowsEl = this.windowEl;
    var used = 0;
    if (this.view.length) {
      var position = this.lineAtRow(firstRow);
      var skipped = firstRow - this.viewRowStart.data[position];
      top -= skipped * rowHeight;
      var shownRows = 0;
      while (position < this.view.length && shownRows < visibleRows + skipped) {
        var index = this.view.data[position];
        this.fillRow(this.rowElement(used), index);
        shownRows += this.rows.data[index];
        used++;
        position++;
      }
    }
    while (rowsEl.children.length > used) {
      rowsEl.removeChild(rowsEl.lastChild);
    }
    rowsEl.style.transform = "translateY(" + Math.max(0, top) + "px)";
  };

  LogViewer.prototype.rowElement = function (position) {
    var row = this.windowEl.children[position];
    if (row) {
      return row;
    }
    row = document.createElement("div");
    if (this.raw) {
      row.appendChild(document.createElement("span")).className = "eztm-text";
    } else {
      row.appendChild(document.createElement("span")).className = "eztm-no";
      row.appendChild(document.createElement("span")).className = "eztm-ts";
      row.appendChild(document.createElement("span")).className = "eztm-lvl";
      row.appendChild(document.createElement("span")).className = "eztm-msg";
    }
    this.windowEl.appendChild(row);
    return row;
  };

  LogViewer.prototype.fillRow = function (row, index) {
    var level = this.levelNames[index];
    var cells = row.children;
    row.style.height = this.rows.data[index] * this.rowHeight + "px";
    if (this.raw) {
      row.className = "eztm-line";
      cells[0].textContent = this.stamps[index] + " - " + level + " - " + this.messages[index];
      return;
    }
    row.className = "eztm-line eztm-level-" + (level || "OTHER");
    cells[0].textContent = String(this.base + index + 1);
    cells[1].textContent = this.stamps[index];
    cells[2].textContent = level;
    cells[3].textContent = this.messages[index];
  };

  // Loading --------------------------------------------------------------------------------
  /* The run's state while it goes on (queued, running, stopping), its result once it has
   * ended, and the reason it ended so. */
  LogViewer.prototype.setStatus = function (data) {
    var status = this.root.querySelector("#eztm-status");
    var live = this.root.querySelector("#eztm-live");
    if (data.finished) {
      var result = data.result || "";
      status.textContent = result ? result.toUpperCase() : "-";
      status.className = "eztm-status eztm-result eztm-result-" + result;
      if (live) {
        live.hidden = true;
      }
    } else {
      var state = String(data.state || "running");
      status.textContent = state.toUpperCase();
      status.className = "eztm-status eztm-result eztm-state-" + state;
    }
    var reason = this.root.querySelector("#eztm-reason");
    if (reason && data.reason !== undefined) {
      reason.textContent = data.reason;
      reason.hidden = !data.reason;
      this.root.querySelector("#eztm-reason-label").hidden = !data.reason;
    }
  };

  /* The bars the command reports: a tree by group (a child under its parent), each with
   * its percentage and, from its pace so far, an estimate of the time left. */
  function duration(seconds) {
    var s = Math.max(Math.round(seconds), 0);
    if (s >= 3600) {
      return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
    }
    if (s >= 60) {
      return Math.floor(s / 60) + " min " + (s % 60) + " s";
    }
    return s + " s";
  }

  LogViewer.prototype.setProgress = function (progress) {
    var box = this.root.querySelector("#eztm-bars");
    var bars = (progress && progress.bars) || [];
    if (!box || !bars.length) {
      return;
    }
    var key = JSON.stringify(bars);
    if (key === this.progressKey) {
      return;
    }
    this.progressKey = key;
    // Parents first, then their children, each level in the order the command began them.
    var order = bars.map(function (bar, index) {
      return { bar: bar, index: index };
    });
    var firstSeen = {};
    order.forEach(function (item) {
      firstSeen[item.bar.group.join("\u0000")] = item.index;
    });
    var sortKey = function (item) {
      var group = item.bar.group;
      return group.map(function (name, depth) {
        var path = group.slice(0, depth + 1).join("\u0000");
        var seen = path in firstSeen ? firstSeen[path] : item.index;
        return ("000" + seen).slice(-4);
      });
    };
    order.sort(function (a, b) {
      var ka = sortKey(a);
      var kb = sortKey(b);
      for (var i = 0; i < Math.min(ka.length, kb.length); i++) {
        if (ka[i] !== kb[i]) {
          return ka[i] < kb[i] ? -1 : 1;
        }
      }
      return ka.length - kb.length;
    });
    box.textContent = "";
    var words = { left: box.getAttribute("data-left"), done: box.getAttribute("data-done") };
    order.forEach(function (item) {
      var bar = item.bar;
      var row = document.createElement("div");
      row.className = "eztm-bar";
      row.style.setProperty("--eztm-depth", String(Math.max(bar.group.length - 1, 0)));
      var label = document.createElement("span");
      label.className = "eztm-bar-label";
      label.textContent = bar.group.length ? bar.group[bar.group.length - 1] : "";
      var meter = document.createElement("progress");
      var figures = document.createElement("span");
      figures.className = "eztm-bar-figures";
      var total = typeof bar.total === "number" && bar.total > 0 ? bar.total : null;
      if (total !== null) {
        var share = Math.min(bar.current / total, 1);
        meter.max = total;
        meter.value = Math.min(bar.current, total);
        var text = Math.floor(share * 100) + "% (" + bar.current + "/" + total + ")";
        var spent = bar.updated - bar.started;
        if (share >= 1) {
          text += " · " + words.done;
        } else if (bar.current > 0 && spent > 0) {
          text += " · " + duration(((total - bar.current) * spent) / bar.current) + " " + words.left;
        }
        figures.textContent = text;
      } else {
        figures.textContent = String(bar.current);
      }
      var status = document.createElement("span");
      status.className = "eztm-bar-status";
      status.textContent = bar.status || "";
      row.appendChild(label);
      row.appendChild(meter);
      row.appendChild(figures);
      row.appendChild(status);
      box.appendChild(row);
    });
    box.hidden = false;
  };

  /* How much of the log is here, lines before the end (the head) included. */
  LogViewer.prototype.showLoading = function () {
    var loaded = this.headLoaded + this.messages.length;
    var loading = this.root.querySelector("#eztm-loading");
    loading.hidden = loaded >= this.logSize && this.base === 0;
    if (!loading.hidden) {
      this.root.querySelector("#eztm-progress").textContent =
        Math.floor((100 * loaded) / Math.max(this.logSize, 1)) + "%";
    }
  };

  /* Every line is here and none will come: the viewer is done. */
  LogViewer.prototype.markDoneIfComplete = function () {
    if (this.finished && this.base === 0) {
      this.root.dataset.state = "done";
    }
  };

  /* A page of ``limit`` lines from line ``offset`` on; with ``offset`` null, the last ones. */
  LogViewer.prototype.fetchPage = function (offset, limit) {
    var url = new URL(this.config.linesUrl, window.location.href);
    if (offset === null) {
      url.searchParams.set("tail", String(limit));
    } else {
      url.searchParams.set("offset", String(offset));
      url.searchParams.set("limit", String(limit));
    }
    url.searchParams.set("compact", "1");
    return fetch(url.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  };

  function wait(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  LogViewer.prototype.load = function () {
    var self = this;
    // The first page is what the screen shows, so that it paints at once: the first
    // lines, or the last ones while the viewer follows a run that goes on. Then the
    // largest pages, to fill the rest with as few requests as possible.
    var limit = this.config.firstPageSize || this.config.pageSize;
    var fromTheEnd = this.config.live && !this.config.finished && this.sticky;
    var first = true;
    var step = function () {
      var asked = limit;
      var offset = first && fromTheEnd ? null : self.base + self.messages.length;
      return self
        .fetchPage(offset, asked)
        .then(function (data) {
          limit = self.config.pageSize;
          if (first) {
            first = false;
            self.base = data.offset || 0;
            if (self.base > 0) {
              self.loadHead(self.base); // the lines before the end, in the background
            }
          }
          self.append(data.new_log_lines);
          self.logSize = data.log_size;
          self.setStatus(data);
          self.setProgress(data.progress);
          self.showLoading();
          if (self.base + self.messages.length < data.log_size && data.new_log_lines.length) {
            return step(); // more pages are waiting: ask at once
          }
          if (!self.config.live || data.finished) {
            self.finished = true;
            self.markDoneIfComplete();
            return null; // the run has ended and every line is here: stop polling
          }
          return wait(self.config.pollInterval).then(step);
        })
        .catch(function (error) {
          self.showError(error);
          if (self.config.live) {
            return wait(self.config.pollInterval * 3).then(step);
          }
          return null;
        });
    };
    this.root.dataset.state = "loading";
    this.queueRender();
    return step();
  };

  /* Load lines 0 to ``end`` (those before the end first shown) in the largest pages,
   * aside, then put them before the rest at once. */
  LogViewer.prototype.loadHead = function (end) {
    var self = this;
    var head = {
      stamps: [],
      levelNames: [],
      messages: [],
      levels: new GrowingArray(Uint8Array),
      rows: new GrowingArray(Int32Array),
      counts: { ALL: 0, DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0 },
    };
    var step = function () {
      var have = head.messages.length;
      return self
        .fetchPage(have, Math.min(self.config.pageSize, end - have))
        .then(function (data) {
          var lines = data.new_log_lines.slice(0, end - have);
          for (var k = 0; k < lines.length; k++) {
            store(head, head.counts, lines[k]);
          }
          self.headLoaded = head.messages.length;
          if (!lines.length && head.messages.length < end) {
            return null; // the report's lines are gone (it was deleted): the end stays alone
          }
          if (head.messages.length < end) {
            self.showLoading();
            return step();
          }
          self.headLoaded = 0;
          self.prepend(head);
          self.showLoading();
          self.markDoneIfComplete();
          return null;
        })
        .catch(function (error) {
          self.showError(error);
          return wait(self.config.pollInterval * 3).then(step);
        });
    };
    return step();
  };

  LogViewer.prototype.showError = function (error) {
    this.root.querySelector("#eztm-progress").textContent = String(error.message);
    this.root.querySelector("#eztm-loading").hidden = false;
  };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("eztm-log-viewer");
    var config = JSON.parse(document.getElementById("eztm-log-config").textContent);
    var viewer = new LogViewer(root, config);
    window.eztmLogViewer = viewer; // for debugging and for the browser tests
    viewer.load();
  });
})();
