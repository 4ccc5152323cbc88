// Every HTMX request carries the CSRF token of the page (a meta tag), like forms do.
document.addEventListener("htmx:configRequest", function (evt) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { evt.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
});
// Charts: any element with data-chart holds its ECharts option as JSON.
function kcRenderCharts(root) {
  if (!window.echarts) { return; }
  (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
    if (el.dataset.rendered) { return; }
    var chart = echarts.init(el);
    chart.setOption(JSON.parse(el.dataset.chart));
    el.dataset.rendered = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  });
}
document.addEventListener("DOMContentLoaded", function () { kcRenderCharts(document); });
document.addEventListener("htmx:afterSwap", function (evt) { kcRenderCharts(evt.target); });
// Forms with data-confirm ask before they submit (no inline handlers: the CSP forbids them).
document.addEventListener("submit", function (evt) {
  var form = evt.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    evt.preventDefault();
  }
});
