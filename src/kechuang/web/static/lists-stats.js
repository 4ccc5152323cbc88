// The yearly statistics chart of /lists/stats: participants per year (bars, left axis) and
// the shares of the "四个90%" plus the growth of points (lines, %, right axis).
// The page carries the data (not an ECharts option) in data-lists-stats; CSP forbids inline JS.
(function () {
  function render(el) {
    if (!window.echarts || el.dataset.rendered) { return; }
    var d = JSON.parse(el.dataset.listsStats);
    var zh = document.documentElement.lang !== "en";
    var name = function (z, e) { return zh ? z : e; };
    var line = function (label, values) {
      return { name: label, type: "line", yAxisIndex: 1, data: values, connectNulls: false };
    };
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 40, left: 50, right: 50, bottom: 30 },
      xAxis: { type: "category", data: d.years },
      yAxis: [{ type: "value", name: name("家", "firms") },
              { type: "value", name: "%", axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: name("参与企业", "Participants"), type: "bar", data: d.participants },
        line(name("建有研发机构", "R&D institution"), d.share_rd_institution),
        line(name("有研发投入", "R&D spending"), d.share_rd_expense),
        line(name("产学研合作*", "Cooperation*"), d.share_cooperation),
        line(name("积分增长", "Growth of points"), d.growth)
      ]
    });
    el.dataset.rendered = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-lists-stats]").forEach(render);
  });
})();
