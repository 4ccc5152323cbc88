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
// Navigation menus (<details>): one open at a time; Escape or a click elsewhere closes them.
function kcCloseMenus(except) {
  document.querySelectorAll("details.navgroup[open]").forEach(function (d) {
    if (d !== except) { d.removeAttribute("open"); }
  });
}
document.addEventListener("toggle", function (evt) {
  var d = evt.target;
  if (d.classList && d.classList.contains("navgroup") && d.open) { kcCloseMenus(d); }
}, true);
document.addEventListener("click", function (evt) {
  if (!evt.target.closest || !evt.target.closest("details.navgroup")) { kcCloseMenus(null); }
});
document.addEventListener("keydown", function (evt) {
  if (evt.key !== "Escape") { return; }
  var open = document.querySelector("details.navgroup[open]");
  if (open) { open.removeAttribute("open"); open.querySelector("summary").focus(); }
});
