/* taskmill web UI: the run page's DAG, kept live (hand-written, no dependencies).
 *
 * The server lays the graph out (positions in #graph-data); this script draws it as SVG once, then
 * applies the patches of /runs/ID/events in place: a changed step updates its own <g> (class,
 * icon, label) or the counters of the group or stage that stands for it. The whole graph is only
 * redrawn when the viewer collapses/expands something or the pipeline grows new steps.
 * It opens fitted to the view and centred on what is running (else failing, else waiting), keeps
 * a searchable step list beside the graph (status filter), and answers deep links to a step:
 * ?step=NAME&tab=console opens that step's panel on that tab (the URL follows the panel).
 * Names and labels are set with textContent / setAttribute: never parsed as HTML.
 */
(function () {
  "use strict";

  var D = window.tmDag;
  var SVGNS = D.SVGNS, STATUS_LABEL = D.STATUS_LABEL, el = D.el, countsText = D.countsText;

  var run, graph, skew, svg, viewport, panel, infoPanel, stepPanel, stepsBox;
  var byId = new Map(); // visible id -> {data, el, sub, icon}
  var owner = new Map(); // step name -> visible id (hidden steps only)
  var hiddenStatus = new Map(); // hidden step name -> status
  var zoom = 1;
  var selected = null;
  var options = { group: null, expand: [], collapse: null };
  var refetchTimer = null;
  var panelTimer = null;
  var listTimer = null;
  var listNames = null; // every step name in list order (reset when the graph is drawn again)
  var panelStep = null; // the step whose panel is open (may be hidden inside a group)
  var MIN_ZOOM = 0.6; // opening zoom never goes below this: smaller text is not readable
  var LIST_ROWS = 300; // rows of the step list drawn at once (refine the search for the rest)
  var FOCUS = ["running", "failed", "queued", "aborted"];
  var collator = new Intl.Collator(undefined, { numeric: true });

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
    listNames = null;
    scheduleList();
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

  function centreOn(nodes) {
    // the box around `nodes` in the middle of the view (its top-left part when it is bigger)
    if (!nodes.length) return;
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    nodes.forEach(function (d) {
      x0 = Math.min(x0, d.x); y0 = Math.min(y0, d.y);
      x1 = Math.max(x1, d.x + d.w); y1 = Math.max(y1, d.y + d.h);
    });
    var w = viewport.clientWidth, h = viewport.clientHeight;
    var cx = (x0 + 24) * zoom + Math.min((x1 - x0) * zoom, w) / 2;
    var cy = (y0 + 24) * zoom + Math.min((y1 - y0) * zoom, h) / 2;
    viewport.scrollLeft = Math.max(0, cx - w / 2);
    viewport.scrollTop = Math.max(0, cy - h / 2);
  }

  function focusNodes() {
    // what the viewer wants to see first: running steps (or groups with running members), else
    // failing, else waiting; else the first step
    for (var i = 0; i < FOCUS.length; i++) {
      var found = graph.nodes.filter(function (d) {
        return d.status === FOCUS[i] || (d.counts && d.counts[FOCUS[i]]);
      });
      if (found.length) return found;
    }
    return graph.nodes.slice(0, 1);
  }

  function autoView() {
    zoom = Math.max(MIN_ZOOM, Math.min(1, fitZoom()));
    applyZoom();
    var focus = selected && byId.get(selected) ? [byId.get(selected).data] : focusNodes();
    centreOn(focus);
    svg.dataset.zoom = zoom.toFixed(3);
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
      d.ts = n.ts; d.tc = n.tc;
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
    if (r.final) {
      // the queue hint of a run that never started is stale once it has ended
      var empty = document.querySelector("#dag-empty .muted");
      if (empty) empty.textContent = "The run ended (" + r.label + ") before any step was added.";
    }
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
      if (n.n === panelStep) touched = true;
    });
    if (patch.nodes.length) scheduleList();
    if (patch.run) patchRun(patch.run);
    if (unknown) scheduleRefetch();
    if (touched) scheduleStepRefresh();
  }

  function tick() {
    byId.forEach(function (item) {
      var d = item.data;
      if (d.kind === "step" && d.st && !d.tc && (d.status === "running" || d.status === "queued")) {
        D.setSub(item, D.stepSubText(d, ctx()));
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

  function refetch(fit) {
    fetch("/runs/" + encodeURIComponent(run.id) + "/graph.json?" + query(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.nodes) return;
        render(data);
        if (fit) autoView(); // a view the viewer asked for (grouped, expanded) fits too
      });
  }

  function scheduleRefetch() {
    if (refetchTimer) return;
    refetchTimer = setTimeout(function () { refetchTimer = null; refetch(false); }, 400);
  }

  // -- side panel --------------------------------------------------------------------------------
  function showRunInfo() {
    selectNode(null);
    panelStep = null;
    window.tmLog && window.tmLog.detach(stepPanel);
    stepPanel.hidden = true;
    stepPanel.textContent = "";
    infoPanel.hidden = false;
    stepsBox.hidden = false;
    setUrl(null, null);
  }

  function setUrl(step, tab) {
    // the address names the open step and tab, so it can be shared (?step=NAME&tab=console)
    if (!window.history || !window.history.replaceState) return;
    var params = new URLSearchParams(window.location.search);
    if (step) params.set("step", step); else params.delete("step");
    if (step && tab && tab !== "overview") params.set("tab", tab); else params.delete("tab");
    var q = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (q ? "?" + q : "") + window.location.hash);
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

  function loadStep(name, keepTab, wantTab) {
    var tab = keepTab ? stepPanel.querySelector(".subtab.on") : null;
    var active = wantTab || (tab ? tab.getAttribute("data-tab-target") : null);
    panelStep = name;
    fetch("/runs/" + encodeURIComponent(run.id) + "/step?name=" + encodeURIComponent(name), { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (panelStep !== name) return;
        window.tmLog && window.tmLog.detach(stepPanel);
        stepPanel.innerHTML = html; // rendered and escaped by the server
        infoPanel.hidden = true;
        stepsBox.hidden = true;
        stepPanel.hidden = false;
        var tabs = stepPanel.querySelector("[data-tabs]");
        if (active && tabs && tabs.querySelector('[data-tab-target="' + active + '"]')) tm.showTab(tabs, active);
        else active = null;
        setUrl(name, active);
        window.tmLog && window.tmLog.attach(stepPanel);
      });
  }

  function openStep(name, tab) {
    // a step by name, visible or inside a group or stage: select what stands for it, open its panel
    var vid = byId.has(name) ? name : owner.get(name);
    if (vid === undefined) return false;
    selectNode(vid);
    var item = byId.get(vid);
    if (item) centreOn([item.data]);
    loadStep(name, false, tab);
    return true;
  }

  function scheduleStepRefresh() {
    if (panelTimer) return;
    panelTimer = setTimeout(function () {
      panelTimer = null;
      var item = selected && byId.get(selected);
      if (panelStep) loadStep(panelStep, true);
      else if (item) showGroup(item);
    }, 300);
  }

  function showGroup(item) {
    var d = item.data;
    panelStep = null;
    setUrl(null, null);
    stepsBox.hidden = true;
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
    refetch(true);
  }

  function onNodeActivate(g) {
    var item = byId.get(g.getAttribute("data-id"));
    if (!item) return;
    selectNode(item.data.id);
    if (item.data.kind === "step") loadStep(item.data.id, false);
    else showGroup(item);
  }

  // -- the step list (beside the graph): every step, searchable, by status --------------------------
  function allSteps() {
    // by name with numbers in order (train_2 < train_10), sorted once per drawing of the graph;
    // then what needs a look first (running, failed, ...), bucketed in one pass
    if (!listNames) {
      listNames = [];
      byId.forEach(function (item) { if (item.data.kind === "step") listNames.push(item.data.name); });
      hiddenStatus.forEach(function (status, name) { listNames.push(name); });
      listNames.sort(collator.compare);
    }
    var buckets = FOCUS.map(function () { return []; }).concat([[]]);
    listNames.forEach(function (name) {
      var item = byId.get(name);
      var d = item && item.data.kind === "step" ? item.data : null;
      var status = d ? d.status : hiddenStatus.get(name);
      var i = FOCUS.indexOf(status);
      buckets[i < 0 ? FOCUS.length : i].push({ name: name, status: status, d: d });
    });
    return [].concat.apply([], buckets);
  }

  function scheduleList() {
    if (listTimer) return;
    listTimer = setTimeout(function () { listTimer = null; drawList(); }, 150);
  }

  function drawList() {
    if (!stepsBox) return;
    var search = document.getElementById("step-search").value.trim().toLowerCase();
    var select = document.getElementById("step-filter");
    var want = select.value;
    var rows = allSteps();
    var counts = {};
    rows.forEach(function (r) { counts[r.status] = (counts[r.status] || 0) + 1; });
    Array.prototype.forEach.call(select.options, function (o) {
      var n = o.value ? counts[o.value] || 0 : rows.length;
      o.textContent = (o.value ? STATUS_LABEL[o.value] : "All statuses") + " (" + n + ")";
      if (o.value) o.hidden = !n && o.value !== want;
    });
    var shown = rows.filter(function (r) {
      return (!want || r.status === want) && (!search || r.name.toLowerCase().indexOf(search) >= 0);
    });
    var list = document.getElementById("step-rows");
    var frag = document.createDocumentFragment();
    shown.slice(0, LIST_ROWS).forEach(function (r) {
      var li = document.createElement("li");
      li.className = "step-row st-" + r.status;
      li.setAttribute("data-step", r.name);
      li.setAttribute("data-status", r.status);
      li.tabIndex = 0;
      var icon = document.createElementNS(SVGNS, "svg");
      icon.setAttribute("class", "icon");
      el("use", { href: "#i-" + r.status }, icon);
      li.appendChild(icon);
      var name = document.createElement("span");
      name.className = "step-row-name";
      name.textContent = r.name;
      li.appendChild(name);
      var sub = document.createElement("span");
      sub.className = "step-row-sub";
      sub.textContent = r.d ? D.stepSubText(r.d, ctx()) : STATUS_LABEL[r.status] || r.status;
      li.appendChild(sub);
      frag.appendChild(li);
    });
    list.textContent = "";
    list.appendChild(frag);
    var more = document.getElementById("step-more");
    more.hidden = shown.length <= LIST_ROWS && shown.length > 0;
    more.textContent = shown.length ? "… and " + (shown.length - LIST_ROWS) + " more: refine the search" : "No step matches.";
    stepsBox.dataset.shown = String(shown.length);
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
    stepsBox = document.getElementById("steps-box");
    render(JSON.parse(document.getElementById("graph-data").textContent)); // the list follows (scheduled)
    var params = new URLSearchParams(window.location.search);
    var linked = params.get("step");
    if (linked && (byId.has(linked) || owner.has(linked))) selectNode(byId.has(linked) ? linked : owner.get(linked));
    autoView();
    if (linked) openStep(linked, params.get("tab"));

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
      if (ev.target.closest("[data-back-to-run]")) { showRunInfo(); return; }
      var sub = ev.target.closest("#step-panel [data-tab-target]");
      if (sub && panelStep) setUrl(panelStep, sub.getAttribute("data-tab-target"));
      var row = ev.target.closest(".step-row");
      if (row) openStep(row.getAttribute("data-step"), null);
    });
    panel.addEventListener("keydown", function (ev) {
      var row = ev.target.closest(".step-row");
      if (row && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); openStep(row.getAttribute("data-step"), null); }
    });
    document.getElementById("step-search").addEventListener("input", scheduleList);
    document.getElementById("step-filter").addEventListener("change", drawList);
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
        refetch(true);
      });
    });
    document.getElementById("group-toggle").addEventListener("change", function (ev) {
      options.group = ev.target.checked;
      options.expand = [];
      refetch(true);
    });
    document.querySelectorAll(".run-tabs .tab").forEach(function (b) {
      b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
    });
    setInterval(tick, 1000);
    connect();
    // when the DAG was drawn, in ms since navigation started (the UI bench reads it)
    document.body.dataset.readyMs = String(Math.round(window.performance ? performance.now() : 0));
    document.body.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", init);
})();
