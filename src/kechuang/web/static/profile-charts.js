// The profile's charts (radar and trend): each element with data-profile-chart holds its
// ECharts option as JSON. Loaded as a static file because the CSP forbids inline scripts.
(function () {
  function render(root) {
    if (!window.echarts) { return; }
    (root || document).querySelectorAll("[data-profile-chart]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      var option = JSON.parse(el.dataset.profileChart);
      var chart = echarts.init(el);
      chart.setOption(option);
      el.dataset.rendered = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSwap", function (evt) { render(evt.target); });
})();
