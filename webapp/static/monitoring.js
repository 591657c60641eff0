// Draw every [data-chart] with uPlot: its data is the JSON script inside ({labels, data} in uPlot's column
// format, x in Unix seconds). Runs on load and after htmx swaps in new graphs (range buttons).
(function () {
  var COLORS = ["#1e88e5", "#e53935", "#43a047", "#fb8c00"];

  function formatValue(unit, value) {
    if (value == null) { return "—"; }
    if (unit === "bit/s") {
      if (value >= 1e9) { return (value / 1e9).toFixed(2) + " Gbit/s"; }
      if (value >= 1e6) { return (value / 1e6).toFixed(2) + " Mbit/s"; }
      if (value >= 1e3) { return (value / 1e3).toFixed(1) + " kbit/s"; }
      return value.toFixed(0) + " bit/s";
    }
    return value.toFixed(unit === "%" ? 0 : 1) + " " + unit;
  }

  // Axis ticks stay short (6M, 850k, 40 %); the legend carries the full unit.
  function formatTick(unit, value) {
    if (unit === "bit/s") {
      if (Math.abs(value) >= 1e9) { return +(value / 1e9).toFixed(1) + "G"; }
      if (Math.abs(value) >= 1e6) { return +(value / 1e6).toFixed(1) + "M"; }
      if (Math.abs(value) >= 1e3) { return +(value / 1e3).toFixed(1) + "k"; }
      return String(value);
    }
    return value + (unit === "%" ? " %" : "");
  }

  // Times on the axes and in the legend are in the viewer's zone (data-tz on the graphs block), 24-hour.
  function zoneOf(element) {
    var holder = element.closest("[data-tz]");
    return holder ? holder.dataset.tz : undefined;
  }

  function formatter(zone, locale, parts) {
    var options = {hourCycle: "h23", timeZone: zone};
    Object.keys(parts).forEach(function (key) { options[key] = parts[key]; });
    try { return new Intl.DateTimeFormat(locale, options); }
    catch (e) { delete options.timeZone; return new Intl.DateTimeFormat(locale, options); }
  }

  function draw(element) {
    if (element.dataset.drawn || typeof uPlot === "undefined") { return; }
    var source = element.querySelector("script[type='application/json']");
    if (!source) { return; }
    var payload = JSON.parse(source.textContent);
    var unit = element.dataset.unit || "";
    var max = element.dataset.max ? Number(element.dataset.max) : null;
    var series = [{}];
    payload.labels.forEach(function (label, index) {
      series.push({label: label, stroke: COLORS[index % COLORS.length], width: 1.5,
                   fill: index === 0 ? "rgba(30, 136, 229, 0.08)" : undefined, spanGaps: false,
                   value: function (u, v) { return formatValue(unit, v); }});
    });
    var width = Math.max(element.clientWidth, 260);
    var zone = zoneOf(element);
    var locale = document.documentElement.lang === "sw" ? "sw-KE" : "en-KE";
    var clock = formatter(zone, "en-GB", {hour: "2-digit", minute: "2-digit"});
    var day = formatter(zone, locale, {day: "numeric", month: "short"});
    // sv-SE writes 2026-12-01 16:05, the same pattern as every timestamp on the pages.
    var full = formatter(zone, "sv-SE", {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
    series[0] = {value: function (u, v) { return v == null ? "—" : full.format(new Date(v * 1000)); }};
    var timeTicks = function (u, ticks) {
      var span = ticks.length > 1 ? ticks[ticks.length - 1] - ticks[0] : 0;
      var shown = span > 2 * 86400 ? day : clock;
      return ticks.map(function (t) { return shown.format(new Date(t * 1000)); });
    };
    var options = {
      width: width, height: 200, series: series,
      scales: {x: {time: true}, y: max ? {range: [0, max]} : {range: function (u, lo, hi) { return [0, Math.max(hi * 1.1, 1)]; }}},
      axes: [{values: timeTicks}, {size: 56, values: function (u, ticks) { return ticks.map(function (v) { return formatTick(unit, v); }); }}],
      legend: {live: true}
    };
    element.dataset.drawn = "1";
    var chart = new uPlot(options, payload.data, element);
    element._chart = chart;
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.detail.elt); });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      if (element._chart) { element._chart.setSize({width: Math.max(element.clientWidth, 260), height: 200}); }
    });
  });
})();
