/* releasegate's only script: progress bar widths, charts, small niceties. CSP: no inline JS anywhere. */
(function () {
  "use strict";

  // Loaded once per full page load; a test checks it survives in-place (htmx) updates.
  window.releasegate = window.releasegate || { loadedAt: Date.now() };

  function setWidths(root) {
    root.querySelectorAll("[data-width]").forEach(function (el) {
      var value = Math.max(0, Math.min(100, parseInt(el.getAttribute("data-width"), 10) || 0));
      el.style.width = value + "%";
    });
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var COLORS = { standard: "#0d6efd", hotfix: "#fd7e14", waived: "#ffc107", failed: "#dc3545" };

  function drawCharts(root) {
    if (typeof window.Chart === "undefined") return;
    var data = readJson("chart-data");
    if (!data) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      var kind = canvas.getAttribute("data-chart");
      var common = { responsive: true, maintainAspectRatio: false, animation: false };
      if (kind === "weekly") {
        new window.Chart(canvas, {
          type: "bar",
          data: {
            labels: data.weeks,
            datasets: [
              { label: "standard", data: data.per_kind.standard, backgroundColor: COLORS.standard },
              { label: "hotfix", data: data.per_kind.hotfix, backgroundColor: COLORS.hotfix },
            ],
          },
          options: Object.assign({}, common, {
            scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          }),
        });
      } else if (data[kind]) {
        new window.Chart(canvas, {
          type: "bar",
          data: {
            labels: data[kind].labels,
            datasets: [{ label: kind, data: data[kind].values, backgroundColor: COLORS[kind] }],
          },
          options: Object.assign({}, common, {
            indexAxis: "y",
            plugins: { legend: { display: false } },
            scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
          }),
        });
      }
    });
  }

  function init(root) {
    setWidths(root);
    drawCharts(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    if (window.htmx) {
      window.htmx.onLoad(function (el) { setWidths(el); });
    }
  });
})();
