/* taskmill web UI: behaviour shared by every page (hand-written, no dependencies).
 *
 * - tabs ([data-tabs] with [data-tab-target] buttons and [data-tab-pane] panes)
 * - search and filter chips over cards or table rows ([data-filter-for])
 * - sortable tables (th[data-sort]; cells carry data-v)
 * - dialogs ([data-open-dialog], [data-close-dialog]) and confirmations (form[data-confirm])
 * - relative times that stay current (time[data-ts])
 * - live regions ([data-live-region]): refreshed from the server when it says something changed
 *
 * Text from the server is only ever inserted as text, or as HTML the server rendered (escaped).
 */
(function () {
  "use strict";

  var tm = (window.tm = window.tm || {});

  tm.ago = function (ts) {
    if (!ts) return "never";
    var age = Date.now() / 1000 - ts;
    if (age < 10) return "just now";
    if (age < 60) return Math.floor(age) + " s ago";
    if (age < 3600) return Math.floor(age / 60) + " min ago";
    if (age < 86400) return Math.floor(age / 3600) + " h ago";
    var days = Math.floor(age / 86400);
    return days + " day" + (days === 1 ? "" : "s") + " ago";
  };

  tm.duration = function (seconds) {
    if (seconds === null || seconds === undefined || seconds < 0 || isNaN(seconds)) return "–";
    var s = Math.floor(seconds);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (s < 60) return seconds < 10 ? seconds.toFixed(1) + "s" : s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
    return Math.floor(s / 86400) + "d " + pad(Math.floor((s % 86400) / 3600)) + "h";
  };

  // -- tabs ----------------------------------------------------------------------------------
  tm.showTab = function (container, name) {
    container.querySelectorAll("[data-tab-target]").forEach(function (b) {
      if (b.closest("[data-tabs]") !== container) return;
      var on = b.getAttribute("data-tab-target") === name;
      b.classList.toggle("on", on);
      b.setAttribute("aria-selected", on ? "true" : "false");
    });
    container.querySelectorAll("[data-tab-pane]").forEach(function (p) {
      if (p.closest("[data-tabs]") !== container) return;
      p.hidden = p.getAttribute("data-tab-pane") !== name;
    });
  };

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-tab-target]");
    if (button) {
      tm.showTab(button.closest("[data-tabs]"), button.getAttribute("data-tab-target"));
      return;
    }
    var opener = ev.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) dialog.showModal();
      return;
    }
    var closer = ev.target.closest("[data-close-dialog]");
    if (closer) {
      closer.closest("dialog").close();
      return;
    }
    var dismiss = ev.target.closest("[data-dismiss]");
    if (dismiss) dismiss.parentElement.remove();
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      return;
    }
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
      b.disabled = true; // one click, one action
    });
  });

  // -- filters -------------------------------------------------------------------------------
  function applyFilter(box) {
    var target = document.getElementById(box.getAttribute("data-filter-for"));
    if (!target) return;
    var input = box.querySelector("[data-filter-text]");
    var words = (input ? input.value : "").toLowerCase().split(/\s+/).filter(Boolean);
    var chip = box.querySelector("[data-filter-chip].on");
    var flag = chip ? chip.getAttribute("data-filter-chip") : "";
    var shown = 0;
    Array.prototype.forEach.call(target.children, function (item) {
      if (!item.hasAttribute("data-text")) return;
      var text = item.getAttribute("data-text") || "";
      var flags = " " + (item.getAttribute("data-flags") || "") + " ";
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      if (ok && flag) ok = flags.indexOf(" " + flag + " ") >= 0;
      item.hidden = !ok;
      if (ok) shown += 1;
    });
    var none = document.querySelector('.no-match[data-for="' + target.id + '"]');
    if (none) none.hidden = shown > 0;
  }
  tm.applyFilters = function () {
    document.querySelectorAll("[data-filter-for]").forEach(applyFilter);
  };
  document.addEventListener("input", function (ev) {
    var box = ev.target.closest("[data-filter-for]");
    if (box) applyFilter(box);
  });
  document.addEventListener("click", function (ev) {
    var chip = ev.target.closest("[data-filter-chip]");
    if (!chip) return;
    var box = chip.closest("[data-filter-for]");
    box.querySelectorAll("[data-filter-chip]").forEach(function (c) { c.classList.toggle("on", c === chip); });
    applyFilter(box);
  });

  // -- sortable tables -----------------------------------------------------------------------
  function versionKey(v) {
    return (v || "").split(".").map(function (p) { return ("000000" + (parseInt(p, 10) || 0)).slice(-6); }).join(".");
  }
  function sortTable(th, direction) {
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentElement.children, th);
    var kind = th.getAttribute("data-sort");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index] ? a.cells[index].getAttribute("data-v") || "" : "";
      var y = b.cells[index] ? b.cells[index].getAttribute("data-v") || "" : "";
      var r;
      if (kind === "num") r = (parseFloat(x) || 0) - (parseFloat(y) || 0);
      else if (kind === "version") r = versionKey(x) < versionKey(y) ? -1 : versionKey(x) > versionKey(y) ? 1 : 0;
      else r = x.localeCompare(y, undefined, { numeric: true });
      return direction === "asc" ? r : -r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[data-sort]").forEach(function (h) {
      h.classList.remove("sorted-asc", "sorted-desc");
      h.removeAttribute("aria-sort");
    });
    th.classList.add("sorted-" + direction);
    th.setAttribute("aria-sort", direction === "asc" ? "ascending" : "descending");
  }
  document.addEventListener("click", function (ev) {
    var th = ev.target.closest("th[data-sort]");
    if (!th) return;
    sortTable(th, th.classList.contains("sorted-desc") ? "asc" : "desc");
  });

  // -- compare picker ------------------------------------------------------------------------
  document.addEventListener("change", function (ev) {
    if (!ev.target.matches('input[name="run"][form="compare-form"]')) return;
    var picked = document.querySelectorAll('input[name="run"][form="compare-form"]:checked');
    var button = document.getElementById("compare-btn");
    if (button) button.disabled = picked.length < 2;
  });

  // -- compare: only the steps that differ ------------------------------------------------------
  document.addEventListener("change", function (ev) {
    if (!ev.target.matches("[data-only-differences]")) return;
    var only = ev.target.checked;
    document.querySelectorAll(".compare-steps tbody tr").forEach(function (row) {
      row.hidden = only && row.getAttribute("data-differs") !== "1";
    });
  });

  // -- relative times ------------------------------------------------------------------------
  function tickTimes() {
    document.querySelectorAll("time[data-ts]").forEach(function (t) {
      var ts = parseFloat(t.getAttribute("data-ts"));
      if (ts) t.textContent = tm.ago(ts);
    });
  }
  setInterval(tickTimes, 20000);

  // -- live regions --------------------------------------------------------------------------
  function refreshRegion(region) {
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(region.id);
        if (!fresh) return;
        var checked = {};
        region.querySelectorAll("input[type=checkbox]:checked").forEach(function (c) { checked[c.value] = true; });
        region.innerHTML = fresh.innerHTML;
        region.querySelectorAll("input[type=checkbox]").forEach(function (c) { c.checked = !!checked[c.value]; });
        var sorted = document.querySelector("th.sorted-asc, th.sorted-desc");
        if (sorted && region.tagName === "TBODY") {
          sortTable(sorted, sorted.classList.contains("sorted-asc") ? "asc" : "desc");
        }
        tm.applyFilters();
      })
      .catch(function () { /* the next change tries again */ });
  }
  function watchRegion(region) {
    if (!window.EventSource) return;
    var source = new EventSource("/live?region=" + encodeURIComponent(region.getAttribute("data-live-region")));
    source.addEventListener("changed", function () { refreshRegion(region); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      if (region.id) watchRegion(region);
    });
    var hash = window.location.hash.replace("#", "");
    if (hash) {
      var tab = document.querySelector('[data-tab-target="' + hash + '"]');
      if (tab) tm.showTab(tab.closest("[data-tabs]"), hash);
    }
  });
})();
