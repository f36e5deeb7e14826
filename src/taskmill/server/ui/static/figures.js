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
