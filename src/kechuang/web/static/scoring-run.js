// The distribution chart of a scoring run (/scoring/runs/{id}): enterprises per 5-point
// bucket of points, one bar series per revenue stage. The page carries the data (not an
// ECharts option) in data-scoring-histogram; CSP forbids inline scripts.
(function () {
  function render(el) {
    if (!window.echarts || el.dataset.rendered) { return; }
    var d = JSON.parse(el.dataset.scoringHistogram);
    if (!d.buckets || !d.buckets.length) { return; }
    var zh = document.documentElement.lang !== "en";
    var chart = echarts.init(el);
    var series = Object.keys(d.series).map(function (stage) {
      return { name: stage, type: "bar", stack: "n", data: d.series[stage] };
    });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 40, left: 50, right: 20, bottom: 40 },
      xAxis: { type: "category", data: d.buckets, name: zh ? "积分" : "points" },
      yAxis: { type: "value", name: zh ? "企业数" : "firms" },
      series: series
    });
    el.dataset.rendered = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function all() {
    document.querySelectorAll("[data-scoring-histogram]").forEach(render);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
  window.addEventListener("load", all);
})();
