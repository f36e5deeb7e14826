// Plotly figures drawn with Plotly.js (served from the plotly package when it is installed).
// Each .plotly-host carries its figure as JSON and holds the server-drawn fallback, which stays
// when Plotly.js is missing. Figures are drawn when first scrolled or tabbed into view, because
// Plotly sizes a plot from its container and hidden tabs have none.
(function () {
  "use strict";
  if (typeof window.Plotly === "undefined") return;

  function draw(host) {
    if (host.dataset.drawn) return;
    host.dataset.drawn = "1";
    var figure;
    try { figure = JSON.parse(host.dataset.figure); } catch (e) { return; }
    var box = document.createElement("figure");
    box.className = "chart plotly-figure";
    var caption = document.createElement("figcaption");
    caption.textContent = host.dataset.title || "";
    var plot = document.createElement("div");
    plot.className = "plotly-box";
    box.appendChild(caption);
    box.appendChild(plot);
    var layout = Object.assign({ autosize: true, height: 420, margin: { l: 50, r: 20, t: 20, b: 40 } }, figure.layout || {});
    var fallback = Array.prototype.slice.call(host.children);
    fallback.forEach(function (child) { child.hidden = true; });
    host.insertBefore(box, host.firstChild);
    function restore(error) {
      if (window.console) window.console.warn("figure not drawn by Plotly.js:", error);
      box.remove();
      fallback.forEach(function (child) { child.hidden = false; });
    }
    try {
      window.Plotly.newPlot(plot, figure.data || [], layout, { responsive: true, displaylogo: false })
        .catch(restore);
    } catch (e) { restore(e); }
  }

  var hosts = document.querySelectorAll(".plotly-host");
  if (!("IntersectionObserver" in window)) { hosts.forEach(draw); return; }
  var seen = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { seen.unobserve(entry.target); draw(entry.target); }
    });
  });
  hosts.forEach(function (host) { seen.observe(host); });
})();

// Scalar charts (figure.scalar-chart): the server draws each as SVG, which is what shows without
// JavaScript; here the chart gets controls and is redrawn from the points it carries
// (data-scalars): drag across the plot to zoom (double-click or "Reset zoom" to undo), smoothing
// (an exponential moving average, debiased as TensorBoard does, drawn over the faded raw line),
// a log y axis, iterations / relative time / wall time on x, and a click on a legend entry to
// hide or show its line. The y range follows the lines and x range shown.
(function () {
  "use strict";
  var root = document.documentElement;
  if (root.hasAttribute("data-tm-scalars")) return; // one script tag per chart: run once
  root.setAttribute("data-tm-scalars", "1");
  var SVG = "http://www.w3.org/2000/svg";
  var MARKED = 60;
  var AXES = [["iter", "Iterations"], ["rel", "Relative time"], ["wall", "Wall time"]];

  function niceTicks(low, high, count) {
    if (!isFinite(low) || !isFinite(high)) return [0];
    if (high <= low) { var pad = Math.abs(low) * 0.1 || 1; low -= pad; high += pad; }
    var raw = (high - low) / Math.max(count - 1, 1);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    var ticks = [];
    for (var v = Math.floor(low / step) * step; ticks.length < 50; v += step) {
      ticks.push(Math.round(v * 1e12) / 1e12);
      if (v >= high - step * 1e-9) break;
    }
    return ticks;
  }
  function number(v) {
    if (v === 0) return "0";
    if (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3) return v.toExponential(1).replace(".0e", "e");
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    return String(Number(v.toPrecision(4)));
  }
  function pad2(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds, span) {
    var d = new Date(seconds * 1000);
    var hm = pad2(d.getHours()) + ":" + pad2(d.getMinutes());
    if (span < 600) hm += ":" + pad2(d.getSeconds());
    return span > 86400 ? (d.getMonth() + 1) + "/" + d.getDate() + " " + hm : hm;
  }
  function elapsed(seconds) {
    if (seconds === 0) return "0s";
    return window.tm && window.tm.duration ? window.tm.duration(seconds) : seconds.toFixed(1) + "s";
  }
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function smoothed(ys, weight) {
    if (!weight) return ys;
    var last = 0, out = [];
    ys.forEach(function (y, i) {
      last = last * weight + (1 - weight) * y;
      out.push(last / (1 - Math.pow(weight, i + 1)));
    });
    return out;
  }
  var charts = 0;

  function setup(figure) {
    var data;
    try { data = JSON.parse(figure.getAttribute("data-scalars")); } catch (e) { return; }
    var svg = figure.querySelector("svg.chart-svg");
    if (!svg || !data.lines) return;
    var id = "tmchart" + charts++;
    var f = data.frame;
    var timed = data.lines.some(function (l) { return l.t.some(function (t) { return t > 0; }); });
    var state = { axis: "iter", smooth: 0, log: false, hidden: {}, zoom: null };

    // -- controls (built here: without the script there is nothing to press) --
    var bar = document.createElement("div");
    bar.className = "chart-tools";
    var axis = document.createElement("select");
    axis.setAttribute("aria-label", "x axis");
    axis.className = "chart-axis";
    AXES.forEach(function (a) {
      if (a[0] !== "iter" && !timed) return;
      var o = document.createElement("option"); o.value = a[0]; o.textContent = a[1]; axis.appendChild(o);
    });
    var smoothLabel = document.createElement("label");
    smoothLabel.className = "chart-smooth";
    smoothLabel.textContent = "Smoothing ";
    var smooth = document.createElement("input");
    smooth.type = "range"; smooth.min = "0"; smooth.max = "0.99"; smooth.step = "0.01"; smooth.value = "0";
    var smoothValue = document.createElement("output");
    smoothValue.textContent = "0";
    smoothLabel.appendChild(smooth); smoothLabel.appendChild(smoothValue);
    var logLabel = document.createElement("label");
    logLabel.className = "chart-log";
    var log = document.createElement("input");
    log.type = "checkbox";
    logLabel.appendChild(log); logLabel.appendChild(document.createTextNode(" Log scale"));
    var reset = document.createElement("button");
    reset.type = "button"; reset.className = "btn small chart-reset"; reset.textContent = "Reset zoom"; reset.hidden = true;
    [axis, smoothLabel, logLabel, reset].forEach(function (c) { bar.appendChild(c); });
    figure.insertBefore(bar, svg);
    figure.querySelectorAll(".chart-legend [data-line]").forEach(function (item) {
      item.setAttribute("role", "button");
      item.setAttribute("tabindex", "0");
      item.setAttribute("aria-pressed", "true");
      item.title = "Hide or show this line";
      var line = data.lines[item.getAttribute("data-line")];
      if (line && line.dash) item.classList.add("dash");
      function toggle() {
        var n = item.getAttribute("data-line");
        state.hidden[n] = !state.hidden[n];
        item.setAttribute("aria-pressed", state.hidden[n] ? "false" : "true");
        item.classList.toggle("legend-off", !!state.hidden[n]);
        draw();
      }
      item.addEventListener("click", toggle);
      item.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); }
      });
    });
    axis.addEventListener("change", function () { state.axis = axis.value; state.zoom = null; draw(); });
    smooth.addEventListener("input", function () {
      state.smooth = parseFloat(smooth.value) || 0; smoothValue.textContent = smooth.value; draw();
    });
    log.addEventListener("change", function () { state.log = log.checked; draw(); });
    reset.addEventListener("click", function () { state.zoom = null; draw(); });
    svg.addEventListener("dblclick", function () { state.zoom = null; draw(); });

    function xsOf(line) {
      if (state.axis === "iter") return line.x;
      if (state.axis === "wall") return line.t;
      var t0 = line.t.length ? line.t[0] : 0;
      return line.t.map(function (t) { return t - t0; });
    }
    function visible() {
      return data.lines.map(function (line, n) {
        if (state.hidden[n]) return null;
        var xs = xsOf(line), ys = smoothed(line.y, state.smooth), pts = [], raw = [];
        for (var i = 0; i < xs.length; i++) {
          if (state.log && (line.y[i] <= 0 || ys[i] <= 0)) continue;
          var y = state.log ? Math.log10(ys[i]) : ys[i], r = state.log ? Math.log10(line.y[i]) : line.y[i];
          pts.push([xs[i], y, line.y[i]]); raw.push([xs[i], r]);
        }
        return { line: line, pts: pts, raw: raw };
      });
    }

    function draw() {
      reset.hidden = !state.zoom;
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var shown = visible().filter(Boolean);
      var all = [];
      shown.forEach(function (s) { s.pts.forEach(function (p) { all.push(p); }); });
      var x0, x1;
      if (state.zoom) { x0 = state.zoom[0]; x1 = state.zoom[1]; }
      else {
        x0 = Math.min.apply(null, all.map(function (p) { return p[0]; }).concat(all.length ? [] : [0]));
        x1 = Math.max.apply(null, all.map(function (p) { return p[0]; }).concat(all.length ? [] : [1]));
      }
      var inside = all.filter(function (p) { return p[0] >= x0 && p[0] <= x1; });
      if (state.smooth) shown.forEach(function (s) { s.raw.forEach(function (p) { if (p[0] >= x0 && p[0] <= x1) inside.push(p); }); });
      var ys = inside.map(function (p) { return p[1]; });
      var ylo = ys.length ? Math.min.apply(null, ys) : 0, yhi = ys.length ? Math.max.apply(null, ys) : 1;
      var yt = niceTicks(ylo, yhi, 5);
      if (state.log && Math.ceil(yhi) - Math.floor(ylo) >= 2 && Math.ceil(yhi) - Math.floor(ylo) <= 8) {
        yt = []; // one tick per decade
        for (var d = Math.floor(ylo); d <= Math.ceil(yhi); d++) yt.push(d);
      } else if (state.log && yt.filter(Number.isInteger).length >= 2) yt = yt.filter(Number.isInteger);
      var xt = state.zoom ? niceTicks(x0, x1, 6).filter(function (t) { return t >= x0 && t <= x1; }) : niceTicks(x0, x1, 6);
      if (state.axis === "iter") xt = xt.filter(Number.isInteger).length >= 2 ? xt.filter(Number.isInteger) : xt;
      if (!state.zoom) { x0 = xt[0]; x1 = xt[xt.length - 1]; }
      var y0 = Math.min(yt[0], yt[yt.length - 1]), y1 = Math.max(yt[0], yt[yt.length - 1]);
      function sx(x) { return f.left + (x - x0) / ((x1 - x0) || 1) * (f.right - f.left); }
      function sy(y) { return f.bottom - (y - y0) / ((y1 - y0) || 1) * (f.bottom - f.top); }
      var span = x1 - x0;
      function xLabel(t) { return state.axis === "wall" ? clock(t, span) : state.axis === "rel" ? elapsed(t) : number(t); }
      function yLabel(t) { return state.log ? number(Math.pow(10, t)) : number(t); }
      yt.forEach(function (t) {
        el("line", { "class": "gridline", x1: f.left, x2: f.right, y1: sy(t), y2: sy(t) }, svg);
        el("text", { "class": "tick", x: f.left - 6, y: sy(t) + 4, "text-anchor": "end" }, svg).textContent = yLabel(t);
      });
      xt.forEach(function (t) {
        el("text", { "class": "tick x-tick", x: sx(t), y: f.bottom + 18, "text-anchor": "middle" }, svg).textContent = xLabel(t);
      });
      el("line", { "class": "axis", x1: f.left, x2: f.right, y1: f.bottom, y2: f.bottom }, svg);
      var clip = el("clipPath", { id: id + "clip" }, el("defs", {}, svg));
      el("rect", { x: f.left, y: f.top - 2, width: f.right - f.left, height: f.bottom - f.top + 4 }, clip);
      var plot = el("g", { "clip-path": "url(#" + id + "clip)" }, svg);
      shown.forEach(function (s) {
        var cls = "s" + s.line.colour + (s.line.dash ? " dash" : "");
        function coords(pts) { return pts.map(function (p) { return sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1); }).join(" "); }
        if (state.smooth) el("polyline", { "class": "line raw " + cls, points: coords(s.raw) }, plot);
        el("polyline", { "class": "line " + cls, points: coords(s.pts), "data-name": s.line.name }, plot);
        var near = s.pts.filter(function (p) { return p[0] >= x0 && p[0] <= x1; });
        if (near.length <= MARKED) near.forEach(function (p) {
          var mark = el("circle", { "class": "mark " + cls, cx: sx(p[0]), cy: sy(p[1]), r: 2.6 }, plot);
          el("title", {}, mark).textContent = s.line.name + " @ " + xLabel(p[0]) + ": " + Number(p[2].toPrecision(6));
        });
      });
      brush = el("rect", { "class": "chart-brush", x: 0, y: f.top, width: 0, height: f.bottom - f.top }, svg);
      brush.setAttribute("visibility", "hidden");
      state.range = [x0, x1];
    }

    // -- drag to zoom --
    var brush = null, start = null;
    function at(ev) {
      var p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
      return p.matrixTransform(svg.getScreenCTM().inverse()).x;
    }
    function toData(px) {
      var r = state.range;
      return r[0] + (Math.min(Math.max(px, f.left), f.right) - f.left) / (f.right - f.left) * (r[1] - r[0]);
    }
    svg.addEventListener("mousedown", function (ev) {
      if (ev.button !== 0) return;
      start = Math.min(Math.max(at(ev), f.left), f.right);
      ev.preventDefault();
    });
    svg.addEventListener("mousemove", function (ev) {
      if (start === null || !brush) return;
      var now = Math.min(Math.max(at(ev), f.left), f.right);
      brush.setAttribute("x", Math.min(start, now)); brush.setAttribute("width", Math.abs(now - start));
      brush.setAttribute("visibility", "visible");
    });
    document.addEventListener("mouseup", function (ev) {
      if (start === null) return;
      var end = Math.min(Math.max(at(ev), f.left), f.right), from = start;
      start = null;
      if (Math.abs(end - from) < 4) { if (brush) brush.setAttribute("visibility", "hidden"); return; }
      var a = toData(Math.min(from, end)), b = toData(Math.max(from, end));
      if (state.axis === "iter" && b - a < 1) { a = Math.floor(a); b = a + 1; }
      state.zoom = [a, b];
      draw();
    });
    draw();
  }

  function all() { document.querySelectorAll("figure.scalar-chart").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all);
  else all();
  var sheet = document.createElement("link");
  sheet.rel = "stylesheet";
  sheet.href = "/static/charts.css";
  document.head.appendChild(sheet);
})();
