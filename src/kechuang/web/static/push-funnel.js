// The bureau's push funnel (pushed → opened → applied → granted): ECharts, from the
// data-push-funnel attribute (labels, values); no inline script (CSP).
document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) { return; }
  document.querySelectorAll("[data-push-funnel]").forEach(function (el) {
    var data = JSON.parse(el.dataset.pushFunnel);
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "item", formatter: "{b}: {c}" },
      series: [{
        type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "8%",
        label: { show: true, position: "inside", formatter: "{b}  {c}" },
        data: data.labels.map(function (label, i) { return { name: label, value: data.values[i] }; })
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
