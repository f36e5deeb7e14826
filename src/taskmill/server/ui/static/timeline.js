/* taskmill web UI: the run's timeline (Gantt): per step, waiting (launched -> started) and running
 * (started -> ended) as bars on one time axis. Drawn as SVG from /runs/ID/timeline.json when the
 * Timeline tab opens, and redrawn every 2 s while the run goes and the tab is open.
 */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var ROW = 22, LABEL = 210, MAX_ROWS = 2000;
  var timer = null;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVGNS, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceStep(span) {
    var raw = span / 8, mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    var steps = [1, 2, 5, 10].map(function (m) { return m * mag; });
    for (var i = 0; i < steps.length; i++) if (steps[i] >= raw) return steps[i];
    return steps[steps.length - 1];
  }

  function draw(box, data) {
    var rows = data.rows.slice(0, MAX_ROWS);
    box.textContent = "";
    if (!rows.length) {
      var empty = document.createElement("p");
      empty.className = "muted pad";
      empty.textContent = "No step has started yet.";
      box.appendChild(empty);
      return;
    }
    var t0 = Math.min.apply(null, rows.map(function (r) { return r.queued || r.started || data.now; }));
    var t1 = Math.max.apply(null, rows.map(function (r) { return r.ended || data.now; }));
    if (data.run_started) t0 = Math.min(t0, data.run_started);
    var span = Math.max(t1 - t0, 0.001);
    var width = Math.max(box.clientWidth - 20, 600), plot = width - LABEL - 20;
    var height = 30 + rows.length * ROW;
    var svg = el("svg", { class: "gantt", width: width, height: height, viewBox: "0 0 " + width + " " + height });
    var x = function (t) { return LABEL + ((t - t0) / span) * plot; };
    var step = niceStep(span);
    for (var t = 0; t <= span + 1e-9; t += step) {
      el("line", { class: "gridline", x1: x(t0 + t), x2: x(t0 + t), y1: 20, y2: height }, svg);
      var label = el("text", { class: "tick", x: x(t0 + t), y: 13, "text-anchor": "middle" }, svg);
      label.textContent = "+" + tm.duration(t);
    }
    rows.forEach(function (r, i) {
      var y = 26 + i * ROW;
      var g = el("g", { class: "gantt-row st-" + r.status, "data-step": r.name }, svg);
      var name = el("text", { class: "gantt-name", x: LABEL - 10, y: y + 12, "text-anchor": "end" }, g);
      name.textContent = r.name.length > 28 ? r.name.slice(0, 27) + "…" : r.name;
      var title = el("title", {}, g);
      var start = r.started || r.queued, end = r.ended || data.now;
      title.textContent = r.name + " — " + r.status + "\nwaited " + tm.duration((start || 0) - (r.queued || start || 0)) +
        ", ran " + tm.duration(end - (start || end));
      if (r.queued && start && start > r.queued) {
        el("rect", { class: "gantt-wait", x: x(r.queued), y: y + 3, width: Math.max(1, x(start) - x(r.queued)), height: 12, rx: 2 }, g);
      }
      if (start) {
        var w = Math.max(2, x(end) - x(start));
        el("rect", { class: "gantt-bar", x: x(start), y: y + 1, width: w, height: 16, rx: 3 }, g);
        var right = x(start) + w + 6 < width - 40;
        var dur = el("text", { class: "gantt-dur", x: right ? x(start) + w + 6 : x(start) - 6, y: y + 13, "text-anchor": right ? "start" : "end" }, g);
        dur.textContent = r.status === "cached" ? "cached" : tm.duration(end - start);
      }
    });
    box.appendChild(svg);
    if (data.rows.length > MAX_ROWS) {
      var note = document.createElement("p");
      note.className = "muted pad";
      note.textContent = "Showing the first " + MAX_ROWS + " of " + data.rows.length + " steps.";
      box.appendChild(note);
    }
    var legend = document.createElement("p");
    legend.className = "gantt-legend muted";
    legend.textContent = "Light bar: waiting (launched, not started) · solid bar: running, in the step's status colour.";
    box.insertBefore(legend, box.firstChild);
  }

  function load(run) {
    var box = document.getElementById("timeline");
    fetch("/runs/" + encodeURIComponent(run.id) + "/timeline.json", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (data.rows) draw(box, data); });
  }

  window.tmTimeline = {
    show: function (run) {
      load(run);
      if (timer) clearInterval(timer);
      timer = setInterval(function () {
        var box = document.getElementById("timeline");
        if (box.hidden || run.final) { clearInterval(timer); timer = null; return; }
        load(run);
      }, 2000);
    },
  };
})();
