// The dispatch run page's fit histogram: the option is JSON in data-dispatch-chart
// (CSP forbids inline scripts, so the page only carries data).
(function () {
  "use strict";
  function init() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-dispatch-chart]").forEach(function (el) {
      if (el.dataset.ready) { return; }
      el.dataset.ready = "1";
      el.style.height = el.style.height || "220px";
      var chart = echarts.init(el);
      chart.setOption(JSON.parse(el.dataset.dispatchChart));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
