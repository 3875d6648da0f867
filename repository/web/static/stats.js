/* Charts of the statistics page (Apache ECharts, vendored): the numbers come from the JSON block
   #stats-data that the page also shows as tables; no inline script (CSP). */
(function () {
  "use strict";
  var block = document.getElementById("stats-data");
  if (!block || typeof echarts === "undefined") { return; }
  var charts = JSON.parse(block.textContent);
  var drawn = [];
  function option(spec) {
    if (spec.kind === "pie") {
      return {
        tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: "65%", data: spec.labels.map(function (name, i) {
          return { name: name, value: spec.values[i][0] };
        }) }]
      };
    }
    return {
      tooltip: { trigger: "axis" },
      legend: { data: spec.series },
      grid: { left: 8, right: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: spec.labels.map(function (s) { return s.trim(); }) },
      series: spec.series.map(function (name, column) {
        return { name: name, type: "bar", data: spec.values.map(function (row) { return row[column]; }) };
      })
    };
  }
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = charts[el.getAttribute("data-chart")];
    if (!spec || spec.labels.length === 0) { el.hidden = true; return; }
    el.style.height = Math.max(220, spec.labels.length * 28 + 80) + "px";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(spec));
    drawn.push(chart);
  });
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
}());
