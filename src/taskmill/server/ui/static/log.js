/* taskmill web UI: consoles that follow a running task (server-sent events).
 *
 * A console is <pre data-console data-task="ID" data-after="SEQ" data-live="1">. While the task
 * runs, new lines arrive on /tasks/ID/log/events and are appended as text; the view stays pinned
 * to the bottom unless the reader scrolled up. window.tmLog.attach(root) starts following every
 * live console under root; detach(root) stops (the run page calls both as the step panel changes).
 */
(function () {
  "use strict";

  function follow(pre) {
    if (pre._tmSource || !window.EventSource) return;
    var task = pre.getAttribute("data-task");
    var after = pre.getAttribute("data-after") || "0";
    var state = pre.parentElement.querySelector("[data-console-state]");
    var source = new EventSource("/tasks/" + encodeURIComponent(task) + "/log/events?after=" + encodeURIComponent(after));
    pre._tmSource = source;
    source.addEventListener("lines", function (ev) {
      var lines = JSON.parse(ev.data);
      var pinned = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
      var empty = pre.querySelector("[data-empty]");
      if (empty) empty.remove();
      var frag = document.createDocumentFragment();
      lines.forEach(function (line) {
        var span = document.createElement("span");
        span.className = line[1] === "stderr" ? "ln err" : "ln";
        span.textContent = line[2] + "\n";
        frag.appendChild(span);
        pre.setAttribute("data-after", String(line[0]));
      });
      pre.appendChild(frag);
      if (pinned) pre.scrollTop = pre.scrollHeight;
    });
    source.addEventListener("end", function (ev) {
      var info = JSON.parse(ev.data);
      source.close();
      pre._tmSource = null;
      pre.setAttribute("data-live", "");
      if (state) state.textContent = "ended: " + info.label;
    });
  }

  function stop(pre) {
    if (pre._tmSource) {
      pre._tmSource.close();
      pre._tmSource = null;
    }
  }

  window.tmLog = {
    attach: function (root) {
      (root || document).querySelectorAll('pre[data-console][data-live="1"]').forEach(follow);
      (root || document).querySelectorAll("pre[data-console]").forEach(function (pre) {
        pre.scrollTop = pre.scrollHeight;
      });
    },
    detach: function (root) {
      (root || document).querySelectorAll("pre[data-console]").forEach(stop);
    },
  };

  document.addEventListener("DOMContentLoaded", function () { window.tmLog.attach(document); });
})();
