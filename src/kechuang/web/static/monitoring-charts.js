// Charts of the monitoring and carbon pages: each element with data-kc-chart holds its
// ECharts option as JSON (built server-side). A static file because the CSP forbids inline
// scripts.
(function () {
  function render(root) {
    if (!window.echarts) { return; }
    (root || document).querySelectorAll("[data-kc-chart]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      var chart = echarts.init(el);
      chart.setOption(JSON.parse(el.dataset.kcChart));
      el.dataset.rendered = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSwap", function (evt) { render(evt.target); });
})();
