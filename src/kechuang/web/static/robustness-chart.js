// The sensitivity chart of a robustness analysis (/robustness/{id}): first-order S1 and
// total ST Sobol indices per uncertain factor, as bars. The page carries the ECharts option
// in data-robustness-chart (CSP forbids inline scripts), labelled in the page's language.
(function () {
  function render(el) {
    if (!window.echarts || el.dataset.rendered) { return; }
    var option = JSON.parse(el.dataset.robustnessChart);
    var chart = echarts.init(el);
    chart.setOption(option);
    el.dataset.rendered = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function all() {
    document.querySelectorAll("[data-robustness-chart]").forEach(render);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
})();
