// The matching hub's two charts (demands by status, achievements by field). The data is
// JSON in data-chart-data; CSP forbids inline scripts, so the page only carries data.
(function () {
  "use strict";
  function init() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-matching-chart]").forEach(function (el) {
      if (el.dataset.ready) { return; }
      el.dataset.ready = "1";
      var data = JSON.parse(el.dataset.chartData);
      var option;
      if (el.dataset.matchingChart === "status") {
        option = {
          tooltip: {}, grid: { left: 40, right: 10, top: 10, bottom: 30 },
          xAxis: { type: "category", data: data.status.labels },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ type: "bar", data: data.status.values, itemStyle: { color: "#0b5cad" } }]
        };
      } else {
        option = {
          tooltip: { trigger: "item" },
          series: [{ type: "pie", radius: ["35%", "70%"], data: data.field }]
        };
      }
      var chart = echarts.init(el);
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
