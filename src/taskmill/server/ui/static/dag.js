/* taskmill web UI: the run page's DAG, kept live (hand-written, no dependencies).
 *
 * The server lays the graph out (positions in #graph-data); this script draws it as SVG once, then
 * applies the patches of /runs/ID/events in place: a changed step updates its own <g> (class,
 * icon, label) or the counters of the group or stage that stands for it. The whole graph is only
 * redrawn when the viewer collapses/expands something or the pipeline grows new steps.
 * Names and labels are set with textContent / setAttribute: never parsed as HTML.
 */
(function () {
  "use strict";

  var D = window.tmDag;
  var SVGNS = D.SVGNS, STATUS_LABEL = D.STATUS_LABEL, el = D.el, countsText = D.countsText;

  var run, graph, skew, svg, viewport, panel, infoPanel, stepPanel;
  var byId = new Map(); // visible id -> {data, el, sub, icon}
  var owner = new Map(); // step name -> visible id (hidden steps only)
  var hiddenStatus = new Map(); // hidden step name -> status
  var zoom = 1;
  var selected = null;
  var options = { group: null, expand: [], collapse: null };
  var refetchTimer = null;
  var panelTimer = null;

  function serverNow() { return Date.now() / 1000 - skew; }
  function ctx() { return { selected: selected, now: serverNow }; }
  function paint(item) { D.paint(item, ctx()); }
  function drawNode(d, layer) {
    var item = D.draw(d, layer, ctx());
    byId.set(d.id, item);
    return item.el;
  }

  function render(data) {
    graph = data;
    byId.clear();
    owner.clear();
    hiddenStatus.clear();
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var pad = 24;
    svg.setAttribute("viewBox", -pad + " " + -pad + " " + (data.width + 2 * pad) + " " + (data.height + 2 * pad));
    svg.dataset.width = data.width + 2 * pad;
    svg.dataset.height = data.height + 2 * pad;
    var paths = D.edgePaths(data.edges);
    el("path", { class: "edges", d: paths[0] }, svg);
    el("path", { class: "edge-heads", d: paths[1] }, svg);
    var layer = el("g", { class: "nodes" }, svg);
    var frag = document.createDocumentFragment();
    data.nodes.forEach(function (d) { drawNode(d, frag); });
    layer.appendChild(frag);
    fitLabels();
    Object.keys(data.hidden).forEach(function (name) {
      owner.set(name, data.hidden[name][0]);
      hiddenStatus.set(name, data.hidden[name][1]);
    });
    applyZoom();
    document.getElementById("dag-empty").hidden = data.nodes.length > 0;
    var stageTools = document.getElementById("stage-tools");
    stageTools.hidden = !data.stages.length;
    document.getElementById("group-toggle").checked = data.grouping;
    if (selected && !byId.has(selected)) selected = null;
    svg.dataset.rendered = String((+svg.dataset.rendered || 0) + 1);
  }

  function fitLabels() {
    // cut names that do not fit their box (long names only: measuring costs a layout)
    byId.forEach(function (item) {
      var text = item.el.querySelector(".node-name");
      var room = item.data.w - (item.data.kind === "step" ? 48 : 110);
      if (item.data.label.length < 17 || text.getComputedTextLength() <= room) return;
      var label = item.data.label.replace(/…$/, "");
      while (label.length > 4 && text.getComputedTextLength() > room) {
        label = label.slice(0, -2);
        text.textContent = label + "…";
      }
    });
  }

  function applyZoom() {
    svg.setAttribute("width", Math.round(svg.dataset.width * zoom));
    svg.setAttribute("height", Math.round(svg.dataset.height * zoom));
  }

  function showStart() {
    // tall graphs (wide fan-outs): start where the first step is, not at the top of its column
    var first = graph.nodes[0];
    if (first && svg.dataset.height * zoom > viewport.clientHeight) {
      viewport.scrollTop = Math.max(0, (first.y + 24) * zoom - viewport.clientHeight / 2);
    }
  }

  function fitZoom() {
    var w = viewport.clientWidth - 8, h = viewport.clientHeight - 8;
    return Math.max(0.05, Math.min(1, w / svg.dataset.width, h / svg.dataset.height));
  }

  // -- live updates ----------------------------------------------------------------------------
  function patchStep(n) {
    var item = byId.get(n.n);
    if (item) {
      var d = item.data;
      d.status = n.status; d.task = n.task; d.st = n.st; d.en = n.en; d.cache = n.cache; d.msg = n.msg;
      paint(item);
      return true;
    }
    var vid = owner.get(n.n);
    if (vid === undefined) return false;
    var previous = hiddenStatus.get(n.n);
    hiddenStatus.set(n.n, n.status);
    var group = byId.get(vid);
    if (group && previous !== n.status) {
      group.data.counts[previous] = (group.data.counts[previous] || 1) - 1;
      group.data.counts[n.status] = (group.data.counts[n.status] || 0) + 1;
      group.data.status = D.summaryStatus(group.data.counts);
      paint(group);
    }
    return true;
  }

  function patchRun(r) {
    var badge = document.querySelector("#run-status .badge");
    if (badge) {
      badge.setAttribute("class", "badge st-" + r.cls);
      badge.querySelector("use").setAttribute("href", "#i-" + r.cls);
      badge.querySelector(".badge-label").textContent = r.label;
    }
    var bar = document.querySelector("#run-progress .pbar");
    if (bar) {
      bar.setAttribute("class", "pbar st-" + r.cls);
      bar.querySelector(".pbar-fill").setAttribute("width", r.total ? ((100 * r.done) / r.total).toFixed(1) : 0);
      document.querySelector("#run-progress .progress-text").textContent = r.done + "/" + r.total;
    }
    document.getElementById("run-steps").textContent = r.done + " of " + r.total + " done";
    var message = document.getElementById("run-message");
    message.textContent = r.message || "";
    message.hidden = !r.message;
    var dur = document.getElementById("run-duration");
    dur.setAttribute("data-started", r.started || "");
    dur.setAttribute("data-ended", r.ended || "");
    document.getElementById("abort-form").hidden = !(r.status === "in_progress" || r.status === "queued");
    document.getElementById("resume-form").hidden = !(r.status === "failed" || r.status === "stopped");
    var wasFinal = run.final;
    run.status = r.status;
    run.final = r.final;
    if (r.final && !wasFinal) refreshInfo();
  }

  function onPatch(ev) {
    var patch = JSON.parse(ev.data);
    skew = Date.now() / 1000 - patch.now;
    var unknown = false;
    var touched = false;
    patch.nodes.forEach(function (n) {
      if (!patchStep(n)) unknown = true;
      if (selected && (n.n === selected || owner.get(n.n) === selected)) touched = true;
    });
    if (patch.run) patchRun(patch.run);
    if (unknown) scheduleRefetch();
    if (touched) scheduleStepRefresh();
  }

  function tick() {
    byId.forEach(function (item) {
      var d = item.data;
      if (d.kind === "step" && d.st && !d.en && (d.status === "running" || d.status === "queued")) {
        item.sub.textContent = D.stepSubText(d, ctx());
      }
    });
    var dur = document.getElementById("run-duration");
    var started = parseFloat(dur.getAttribute("data-started"));
    var ended = parseFloat(dur.getAttribute("data-ended"));
    if (started) dur.textContent = tm.duration((ended || (run.final ? started : serverNow())) - started);
  }

  function connect() {
    if (!window.EventSource) return;
    var source = new EventSource("/runs/" + encodeURIComponent(run.id) + "/events?after=" + run.cursor);
    source.addEventListener("nodes", onPatch);
    source.addEventListener("open", function () { document.body.dataset.live = "1"; });
  }

  // -- re-layout on request ----------------------------------------------------------------------
  function query() {
    var q = [];
    if (options.group !== null) q.push("group=" + (options.group ? "1" : "0"));
    if (options.expand.length) q.push("expand=" + encodeURIComponent(options.expand.join(",")));
    if (options.collapse !== null) q.push("collapse=" + encodeURIComponent(options.collapse));
    return q.join("&");
  }

  function refetch() {
    fetch("/runs/" + encodeURIComponent(run.id) + "/graph.json?" + query(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (data.nodes) render(data); });
  }

  function scheduleRefetch() {
    if (refetchTimer) return;
    refetchTimer = setTimeout(function () { refetchTimer = null; refetch(); }, 400);
  }

  // -- side panel --------------------------------------------------------------------------------
  function showRunInfo() {
    selectNode(null);
    window.tmLog && window.tmLog.detach(stepPanel);
    stepPanel.hidden = true;
    stepPanel.textContent = "";
    infoPanel.hidden = false;
  }

  function refreshInfo() {
    fetch("/runs/" + encodeURIComponent(run.id) + "/info", { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { infoPanel.innerHTML = html; });
  }

  function selectNode(id) {
    var old = selected && byId.get(selected);
    selected = id;
    if (old) paint(old);
    var item = id && byId.get(id);
    if (item) paint(item);
  }

  function loadStep(name, keepTab) {
    var tab = keepTab ? stepPanel.querySelector(".subtab.on") : null;
    var active = tab ? tab.getAttribute("data-tab-target") : null;
    fetch("/runs/" + encodeURIComponent(run.id) + "/step?name=" + encodeURIComponent(name), { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (selected !== name) return;
        window.tmLog && window.tmLog.detach(stepPanel);
        stepPanel.innerHTML = html; // rendered and escaped by the server
        infoPanel.hidden = true;
        stepPanel.hidden = false;
        if (active) tm.showTab(stepPanel.querySelector("[data-tabs]"), active);
        window.tmLog && window.tmLog.attach(stepPanel);
      });
  }

  function scheduleStepRefresh() {
    if (panelTimer) return;
    panelTimer = setTimeout(function () {
      panelTimer = null;
      var item = selected && byId.get(selected);
      if (item && item.data.kind === "step") loadStep(selected, true);
      else if (item) showGroup(item);
    }, 300);
  }

  function showGroup(item) {
    var d = item.data;
    window.tmLog && window.tmLog.detach(stepPanel);
    stepPanel.textContent = "";
    var head = document.createElement("div");
    head.className = "panel-head";
    var back = document.createElement("button");
    back.className = "link back";
    back.setAttribute("data-back-to-run", "");
    back.textContent = "← Run info";
    head.appendChild(back);
    var body = document.createElement("div");
    body.className = "panel-body";
    var h = document.createElement("h2");
    h.className = "step-title";
    h.textContent = (d.kind === "stage" ? "Stage " : "Group ") + d.name;
    var p = document.createElement("p");
    p.textContent = d.size + " steps: " + countsText(d.counts);
    var expand = document.createElement("button");
    expand.className = "btn primary";
    expand.textContent = d.kind === "stage" ? "Expand this stage" : "Expand this group";
    expand.addEventListener("click", function () { expandNode(d); });
    var list = document.createElement("ul");
    list.className = "member-list";
    var shown = 0;
    owner.forEach(function (vid, name) {
      if (vid !== d.id || shown >= 200) return;
      shown += 1;
      var li = document.createElement("li");
      var status = hiddenStatus.get(name);
      li.className = "st-" + status;
      var svgIcon = document.createElementNS(SVGNS, "svg");
      svgIcon.setAttribute("class", "icon");
      el("use", { href: "#i-" + status }, svgIcon);
      li.appendChild(svgIcon);
      li.appendChild(document.createTextNode(" " + name + " — " + (STATUS_LABEL[status] || status)));
      list.appendChild(li);
    });
    body.appendChild(h);
    body.appendChild(p);
    body.appendChild(expand);
    body.appendChild(list);
    if (d.size > shown) {
      var more = document.createElement("p");
      more.className = "muted";
      more.textContent = "… and " + (d.size - shown) + " more";
      body.appendChild(more);
    }
    stepPanel.appendChild(head);
    stepPanel.appendChild(body);
    infoPanel.hidden = true;
    stepPanel.hidden = false;
  }

  function expandNode(d) {
    if (d.kind === "group") {
      options.expand = options.expand.concat([d.id]);
    } else {
      var collapsed = graph.stages.filter(function (s) { return s.collapsed && s.name !== d.name; });
      options.collapse = collapsed.length ? collapsed.map(function (s) { return s.name; }).join(",") : "-";
    }
    showRunInfo();
    refetch();
  }

  function onNodeActivate(g) {
    var item = byId.get(g.getAttribute("data-id"));
    if (!item) return;
    selectNode(item.data.id);
    if (item.data.kind === "step") loadStep(item.data.id, false);
    else showGroup(item);
  }

  // -- tabs: graph / timeline --------------------------------------------------------------------
  function showTab(name) {
    document.querySelectorAll(".run-tabs .tab").forEach(function (b) {
      var on = b.getAttribute("data-tab") === name;
      b.classList.toggle("on", on);
      b.setAttribute("aria-selected", on ? "true" : "false");
    });
    viewport.hidden = name !== "dag";
    document.getElementById("timeline").hidden = name !== "timeline";
    document.getElementById("dag-tools").classList.toggle("dimmed", name !== "dag");
    if (name === "timeline" && window.tmTimeline) window.tmTimeline.show(run);
  }

  function init() {
    run = JSON.parse(document.getElementById("run-data").textContent);
    skew = Date.now() / 1000 - run.now;
    svg = document.getElementById("dag");
    viewport = document.getElementById("dag-viewport");
    panel = document.getElementById("side-panel");
    infoPanel = document.getElementById("run-info-panel");
    stepPanel = document.getElementById("step-panel");
    render(JSON.parse(document.getElementById("graph-data").textContent));
    zoom = Math.max(0.85, Math.min(1, fitZoom()));
    applyZoom();
    showStart();

    svg.addEventListener("click", function (ev) {
      var g = ev.target.closest("g.node");
      if (g) onNodeActivate(g);
      else showRunInfo();
    });
    svg.addEventListener("keydown", function (ev) {
      var g = ev.target.closest("g.node");
      if (g && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); onNodeActivate(g); }
    });
    panel.addEventListener("click", function (ev) {
      if (ev.target.closest("[data-back-to-run]")) showRunInfo();
    });
    document.querySelectorAll("[data-zoom]").forEach(function (b) {
      b.addEventListener("click", function () {
        var how = b.getAttribute("data-zoom");
        zoom = how === "fit" ? fitZoom() : Math.max(0.05, Math.min(3, zoom * (how === "in" ? 1.25 : 0.8)));
        applyZoom();
      });
    });
    document.querySelectorAll("[data-stages]").forEach(function (b) {
      b.addEventListener("click", function () {
        options.collapse = b.getAttribute("data-stages") === "collapse" ? "*" : "-";
        refetch();
      });
    });
    document.getElementById("group-toggle").addEventListener("change", function (ev) {
      options.group = ev.target.checked;
      options.expand = [];
      refetch();
    });
    document.querySelectorAll(".run-tabs .tab").forEach(function (b) {
      b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
    });
    setInterval(tick, 1000);
    connect();
    document.body.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", init);
})();
