/* taskmill web UI: drawing the run page's DAG nodes and edges as SVG (used by dag.js).
 *
 * window.tmDag.draw(d, layer, ctx) creates a node's <g> and returns an item; paint(item, ctx)
 * brings it up to date with item.data (status class, icon, labels, group bar). ctx gives the
 * selected id and the server clock: {selected: id, now: function () {...}}.
 * Text is set with textContent and attributes with setAttribute: never parsed as HTML.
 */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var STATUS_LABEL = {
    pending: "Pending", queued: "Queued", running: "Running", completed: "Completed", cached: "Cached",
    failed: "Failed", aborted: "Aborted", skipped: "Skipped",
  };
  var COUNT_ORDER = ["completed", "cached", "running", "queued", "pending", "failed", "aborted", "skipped"];
  var PRECEDENCE = ["failed", "running", "queued", "aborted", "pending", "skipped", "cached", "completed"];

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVGNS, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  // Times of a step: st/en when the controller launched it and saw it end, ts/tc when its task
  // itself started and completed. wait = st -> ts (for an agent or a slot), run = ts -> tc.
  function stepTimes(d, ctx) {
    var going = d.status === "running" || d.status === "queued";
    var now = going ? ctx.now() : null;
    if (d.ts) {
      return {
        wait: d.st && d.ts > d.st ? d.ts - d.st : 0,
        run: (d.tc || d.en || now || d.ts) - d.ts,
        started: true,
      };
    }
    if (d.st && going) return { wait: now - d.st, run: null, started: false };
    if (d.st && d.en) return { wait: null, run: d.en - d.st, started: true }; // no task record
    return null;
  }

  function stepSubText(d, ctx) {
    var label = STATUS_LABEL[d.status] || d.status;
    if (d.status === "cached") return label + " · reused";
    var t = stepTimes(d, ctx);
    if (!t) return label;
    if (!t.started) return label + " · waiting " + tm.duration(t.wait);
    var text = label + " · " + tm.duration(t.run);
    if (t.wait >= 0.1) text += " · wait " + tm.duration(t.wait);
    return text;
  }

  function timesTitle(d, ctx) {
    var t = d.status === "cached" ? null : stepTimes(d, ctx);
    if (!t) return "";
    var parts = [];
    if (t.wait !== null) parts.push("waited " + tm.duration(t.wait) + " (launched, not started)");
    if (t.run !== null) parts.push("ran " + tm.duration(t.run));
    return parts.length ? "\n" + parts.join(", ") : "";
  }

  function countsText(counts) {
    var parts = [];
    COUNT_ORDER.forEach(function (s) {
      if (counts[s]) parts.push(counts[s] + " " + (s === "completed" ? "done" : s));
    });
    return parts.join(" · ") || "empty";
  }

  function summaryStatus(counts) {
    for (var i = 0; i < PRECEDENCE.length; i++) if (counts[PRECEDENCE[i]]) return PRECEDENCE[i];
    return "pending";
  }

  // -- drawing ---------------------------------------------------------------------------------
  function edgePaths(edges) {
    var lines = [];
    var heads = [];
    edges.forEach(function (pts) {
      var d = "M" + pts[0][0] + " " + pts[0][1];
      for (var i = 1; i < pts.length; i++) {
        var a = pts[i - 1], b = pts[i], dx = (b[0] - a[0]) / 2;
        d += "C" + (a[0] + dx) + " " + a[1] + " " + (b[0] - dx) + " " + b[1] + " " + b[0] + " " + b[1];
      }
      lines.push(d);
      var end = pts[pts.length - 1];
      heads.push("M" + (end[0] - 7) + " " + (end[1] - 4) + "L" + end[0] + " " + end[1] + "L" + (end[0] - 7) + " " + (end[1] + 4) + "Z");
    });
    return [lines.join(""), heads.join("")];
  }

  function drawNode(d, layer, ctx) {
    var g = el("g", {
      class: "node kind-" + d.kind + " st-" + d.status,
      transform: "translate(" + d.x + "," + d.y + ")",
      "data-id": d.id,
      "data-status": d.status,
      tabindex: "0",
      role: "button",
    }, layer);
    var title = el("title", {}, g);
    if (d.kind !== "step") {
      el("rect", { class: "node-back", x: 6, y: -6, width: d.w, height: d.h, rx: 9 }, g);
    }
    el("rect", { class: "node-box", width: d.w, height: d.h, rx: 9 }, g);
    el("rect", { class: "node-stripe", width: 5, height: d.h - 2, x: 1, y: 1, rx: 2 }, g);
    var icon = el("use", { class: "node-icon", href: "#i-" + d.status, x: 14, y: 10, width: 17, height: 17 }, g);
    var name = el("text", { class: "node-name", x: 38, y: 23 }, g);
    name.textContent = d.label;
    var sub = el("text", { class: "node-sub", x: 38, y: d.h - 12 }, g);
    var stage = null;
    if (d.kind === "step" && d.stage) {
      stage = el("text", { class: "node-kind node-stage", x: d.w - 10, y: d.h - 12, "text-anchor": "end" }, g);
      stage.textContent = d.stage.length > 12 ? d.stage.slice(0, 11) + "…" : d.stage;
    }
    var item = { data: d, el: g, sub: sub, icon: icon, title: title, stage: stage };
    if (d.kind !== "step") {
      var kind = el("text", { class: "node-kind", x: d.w - 10, y: 23, "text-anchor": "end" }, g);
      kind.textContent = d.kind === "stage" ? "stage · " + d.size : "group";
      item.bar = el("g", { class: "node-bar", transform: "translate(38," + (d.h - 27) + ")" }, g);
    }
    paint(item, ctx);
    return item;
  }

  function paint(item, ctx) {
    var d = item.data;
    item.el.setAttribute("class", "node kind-" + d.kind + " st-" + d.status + (ctx.selected === d.id ? " selected" : ""));
    item.el.setAttribute("data-status", d.status);
    item.icon.setAttribute("href", "#i-" + d.status);
    var label = STATUS_LABEL[d.status] || d.status;
    if (d.kind === "step") {
      setSub(item, stepSubText(d, ctx));
      item.title.textContent = d.name + " — " + label + timesTitle(d, ctx) + (d.msg ? "\n" + d.msg : "");
      item.el.setAttribute("aria-label", d.name + ": " + label);
    } else {
      var text = countsText(d.counts);
      item.sub.textContent = text;
      item.title.textContent = d.name + " (" + d.size + " steps) — " + text + "\nClick to expand";
      item.el.setAttribute("aria-label", d.name + ", " + d.size + " steps: " + text);
      drawBar(item);
    }
  }

  function setSub(item, text) {
    item.sub.textContent = text;
    // the stage label shares the bottom line: it gives way to long times (the stage is in the panel)
    if (item.stage) item.stage.style.display = text.length > 18 ? "none" : "";
  }

  function drawBar(item) {
    var bar = item.bar, d = item.data, width = d.w - 52, x = 0;
    while (bar.firstChild) bar.removeChild(bar.firstChild);
    COUNT_ORDER.forEach(function (s) {
      var n = d.counts[s] || 0;
      if (!n) return;
      var w = Math.max(1.5, (width * n) / d.size);
      el("rect", { class: "seg st-" + s, x: x.toFixed(1), y: 0, width: w.toFixed(1), height: 5 }, bar);
      x += w;
    });
  }

  window.tmDag = {
    SVGNS: SVGNS,
    STATUS_LABEL: STATUS_LABEL,
    el: el,
    edgePaths: edgePaths,
    draw: drawNode,
    paint: paint,
    stepSubText: stepSubText,
    setSub: setSub,
    countsText: countsText,
    summaryStatus: summaryStatus,
  };
})();
