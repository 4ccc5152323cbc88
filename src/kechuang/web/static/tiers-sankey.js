// Tier transitions between two snapshot years: an ECharts sankey whose option (nodes and
// links, computed server-side by a GROUP BY) is in data-tiers-sankey; no inline script (CSP).
document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) { return; }
  document.querySelectorAll("[data-tiers-sankey]").forEach(function (el) {
    var option = JSON.parse(el.dataset.tiersSankey);
    var chart = echarts.init(el);
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
