/* mlrun UI: selection, charts (uPlot), parallel coordinates and scatter (canvas). No build step. */
(function () {
  "use strict";
  var ROOT = document.body.dataset.root || "";
  var KEY = "mlrun.selected";

  function selected() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function store(ids) { sessionStorage.setItem(KEY, JSON.stringify(ids)); }

  // ---- runs table: selection survives paging, sorting and filtering ----
  function syncSelection() {
    var ids = selected(), set = {};
    ids.forEach(function (id) { set[id] = true; });
    document.querySelectorAll("input.sel").forEach(function (box) {
      box.checked = !!set[box.value];
      box.closest("tr").classList.toggle("selected", box.checked);
    });
    var button = document.getElementById("compare");
    if (button) {
      button.disabled = ids.length < 2;
      button.textContent = ids.length ? "Compare " + ids.length + " runs" : "Compare";
    }
    var clear = document.getElementById("clear-selection");
    if (clear) { clear.hidden = ids.length === 0; }
  }
  function toggle(id, on) {
    var ids = selected().filter(function (x) { return x !== id; });
    if (on) { ids.push(id); }
    store(ids);
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("sel")) {
      toggle(target.value, target.checked);
      syncSelection();
    } else if (target.id === "select-page") {
      document.querySelectorAll("input.sel").forEach(function (box) { toggle(box.value, target.checked); });
      syncSelection();
    } else if (target.id === "diff-only") {
      document.getElementById("compare-root").classList.toggle("diff-only", target.checked);
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.id === "compare" && !target.disabled) {
      window.location.href = target.dataset.href + "?runs=" + selected().join(",");
    } else if (target.id === "clear-selection") {
      store([]); syncSelection();
    } else if (target.dataset && target.dataset.copy) {
      var text = document.querySelector(target.dataset.copy).textContent;
      if (navigator.clipboard) { navigator.clipboard.writeText(text).catch(function () {}); }
      target.textContent = "Copied";
    }
  });
  document.addEventListener("htmx:afterSwap", syncSelection);
  // A watched run that just ended: reload once for its end time, log and final artifacts.
  document.addEventListener("htmx:afterSwap", function (event) {
    var live = event.detail.target;
    if (live && live.id === "live" && live.dataset.status !== "RUNNING") { window.location.reload(); }
  });

  // ---- charts ----
  var PALETTE = ["#2f6fde", "#e5533d", "#1f9d55", "#9b51e0", "#f2a900", "#00a3bf", "#d6336c",
                 "#6c757d", "#7950f2", "#20c997", "#fd7e14", "#495057"];
  function color(i, n) {
    if (n <= PALETTE.length) { return PALETTE[i % PALETTE.length]; }
    return "hsl(" + Math.round((i * 360) / n) + ",65%,45%)";
  }
  function tip() {
    var el = document.querySelector(".tip");
    if (!el) { el = document.createElement("div"); el.className = "tip"; document.body.appendChild(el); }
    return el;
  }
  function showTip(text, x, y) {
    var el = tip();
    if (!text) { el.style.display = "none"; return; }
    el.textContent = text; el.style.display = "block";
    el.style.left = (x + 12) + "px"; el.style.top = (y + 12) + "px";
  }

  function runCharts() {
    var root = document.getElementById("run-charts");
    if (!root || !window.uPlot) { return; }
    var plots = {};
    function draw(data) {
      root.querySelectorAll("figure.chart").forEach(function (fig) {
        var key = fig.dataset.key, m = data.metrics[key];
        if (!m) { return; }
        var series = [m.steps, m.values];
        if (plots[key]) { plots[key].setData(series); return; }
        var box = fig.querySelector(".plot");
        plots[key] = new uPlot({
          width: Math.max(300, box.clientWidth), height: 200, legend: {show: false},
          cursor: {points: {size: 6}}, scales: {x: {time: false}},
          axes: [{label: "step", size: 34, labelSize: 14}, {size: 58}],
          series: [{label: "step"}, {label: key, stroke: PALETTE[0], width: 1.5, spanGaps: true,
                                     fill: "rgba(47,111,222,0.06)"}]
        }, series, box);
      });
      root.dataset.drawn = "1";
    }
    function load() {
      fetch(root.dataset.src + "?width=" + Math.round(root.clientWidth / 2))
        .then(function (r) { return r.json(); })
        .then(function (data) {
          draw(data);
          if (data.status === "RUNNING") { setTimeout(load, 3000); }
        });
    }
    load();
  }

  // Every series on one x axis (uPlot's format). Runs of a sweep share their steps (sent once,
  // in order: used as they are); otherwise the union of their points.
  function sorted(xs) {
    for (var i = 1; i < xs.length; i++) { if (xs[i] < xs[i - 1]) { return false; } }
    return true;
  }
  function align(data, half) {
    if (data.x && sorted(data.x)) {
      if (!data.series.length || !data.series[0].hi) {
        return [data.x].concat(data.series.map(function (s) { return s.y; }));
      }
      var n = data.x.length, xs = new Array(2 * n);
      for (var i = 0; i < n; i++) { xs[2 * i] = data.x[i]; xs[2 * i + 1] = data.x[i] + half; }
      return [xs].concat(data.series.map(function (s) {
        var ys = new Array(2 * n);
        for (var j = 0; j < n; j++) { ys[2 * j] = s.y[j]; ys[2 * j + 1] = s.hi[j]; }
        return ys;
      }));
    }
    if (data.x) { data.series.forEach(function (s) { s.x = data.x; }); }
    var seen = new Map();
    data.series.forEach(function (s) {
      for (var i = 0; i < s.x.length; i++) {
        seen.set(s.x[i], 0);
        if (s.hi) { seen.set(s.x[i] + half, 0); }
      }
    });
    var all = Array.from(seen.keys()).sort(function (a, b) { return a - b; });
    all.forEach(function (x, i) { seen.set(x, i); });
    return [all].concat(data.series.map(function (s) {
      var ys = new Array(all.length).fill(null);
      for (var i = 0; i < s.x.length; i++) {
        ys[seen.get(s.x[i])] = s.y[i];
        if (s.hi) { ys[seen.get(s.x[i] + half)] = s.hi[i]; }
      }
      return ys;
    }));
  }

  function curves() {
    var box = document.getElementById("curves");
    if (!box || !window.uPlot) { return; }
    var select = document.getElementById("curve-key"), log = document.getElementById("curve-log");
    var plot = null, last = null;
    function load() {
      var width = Math.max(400, box.clientWidth), early = window.mlrunCurves;
      var url = box.dataset.src + "?key=" + encodeURIComponent(select.value) +
                "&width=" + width + "&runs=" + box.dataset.runs;
      box.dataset.drawn = "";
      // The page asked for the first metric while it was still loading (see compare.html).
      var request = early && early.key === select.value ? early.response : fetch(url);
      window.mlrunCurves = null;
      request.then(function (r) { return r.json(); }).then(draw);
    }
    function draw(data) {
        last = data;
        var width = Math.max(400, box.clientWidth);
        var n = data.series.length, many = n > 12, half = data.bucket_width / 2;
        var series = [{label: "step"}];
        var aligned = align(data, half);
        var names = {};
        (plotData() || {runs: []}).runs.forEach(function (r) { names[r.id] = r.name; });
        data.series.forEach(function (s, k) {
          series.push({label: names[s.id] || s.id.slice(0, 8), stroke: color(k, n),
                       width: many ? 1 : 1.6, spanGaps: true});
        });
        if (plot) { plot.destroy(); }
        var positive = aligned.slice(1).every(function (ys) {
          return ys.every(function (y) { return y == null || y > 0; });
        });
        log.disabled = !positive;
        var y = log.checked && positive ? {distr: 3} : {};
        plot = new uPlot({
          width: width, height: 360, legend: {show: !many}, scales: {x: {time: false}, y: y},
          focus: {alpha: 0.25}, cursor: {focus: {prox: 24}, points: {show: !many}},
          axes: [{label: "step", size: 34, labelSize: 14}, {size: 64}],
          series: series,
          hooks: {setSeries: [function (u, idx) {
            var e = window.event;
            if (many && idx != null && e) { showTip(series[idx].label, e.clientX, e.clientY); }
            else if (idx == null) { showTip(null); }
          }]}
        }, aligned, box);
        box.addEventListener("mouseleave", function () { showTip(null); });
        var note = document.getElementById("curve-note");
        note.textContent = data.bucket_width > 1
          ? "downsampled on the server: min/max per " + (+data.bucket_width.toFixed(2)) + " steps"
          : "every logged step";
        requestAnimationFrame(function () { box.dataset.drawnMs = performance.now().toFixed(1); });
        box.dataset.drawn = "1";
    }
    select.addEventListener("change", load);
    log.addEventListener("change", function () { if (last) { draw(last); } });
    load();
  }

  // ---- parallel coordinates and scatter (our canvas module) ----
  function plotData() {
    var el = document.getElementById("plot-data");
    return el ? JSON.parse(el.textContent) : null;
  }
  function extent(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (v != null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    if (lo === Infinity) { return [0, 1]; }
    if (lo === hi) { return [lo - 1, hi + 1]; }
    return [lo, hi];
  }
  function fmt(v) { return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(2) : +v.toPrecision(4) + ""; }
  function label(col, v) { return col.kind === "category" ? col.categories[v] : fmt(v); }
  function ramp(t) {  // dark blue -> teal -> yellow
    var stops = [[49, 54, 149], [38, 150, 160], [100, 180, 70], [225, 150, 20]];
    t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    var i = Math.min(stops.length - 2, Math.floor(t)), f = t - i, a = stops[i], b = stops[i + 1];
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); }).join(",") + ")";
  }
  function setupCanvas(canvas) {
    var ratio = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.height / (canvas._ratio || 1);
    canvas._ratio = ratio; canvas.width = w * ratio; canvas.height = h * ratio; canvas.style.height = h + "px";
    var ctx = canvas.getContext("2d"); ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return {ctx: ctx, w: w, h: h};
  }

  function parallel(data) {
    var canvas = document.getElementById("parallel");
    if (!canvas || !data) { return; }
    var cols = data.columns.filter(function (c) {
      var seen = {}; c.values.forEach(function (v) { if (v != null) { seen[v] = 1; } });
      return Object.keys(seen).length > 1;
    });
    if (cols.length < 2) { cols = data.columns.slice(0, 8); }
    var metrics = cols.filter(function (c) { return c.name.indexOf("metrics.") === 0; });
    cols = cols.filter(function (c) { return c.name.indexOf("metrics.") !== 0; }).slice(0, 10).concat(metrics.slice(0, 4));
    var c = setupCanvas(canvas), ctx = c.ctx, pad = 34, top = 44, bottom = c.h - 24;
    if (cols.length < 2) { ctx.fillStyle = "#6b7385"; ctx.fillText("Fewer than two columns to draw.", 12, 24); return; }
    var step = (c.w - 2 * pad) / (cols.length - 1);
    var ranges = cols.map(function (col) { return col.kind === "category" ? [-0.5, col.categories.length - 0.5] : extent(col.values); });
    function y(i, v) { var r = ranges[i]; return bottom - ((v - r[0]) / (r[1] - r[0])) * (bottom - top); }
    var last = cols.length - 1, n = data.runs.length;
    var paths = [];
    ctx.lineWidth = n > 200 ? 0.6 : 1.2;
    ctx.globalAlpha = n > 200 ? 0.45 : 0.8;
    for (var r = 0; r < n; r++) {
      var lv = cols[last].values[r], t = lv == null ? 0 : (lv - ranges[last][0]) / (ranges[last][1] - ranges[last][0]);
      ctx.strokeStyle = lv == null ? "#bbb" : ramp(t);
      ctx.beginPath();
      var pts = [], started = false;
      for (var i = 0; i < cols.length; i++) {
        var v = cols[i].values[r];
        if (v == null) { started = false; pts.push(null); continue; }
        var px = pad + i * step, py = y(i, v);
        pts.push(py);
        if (started) { ctx.lineTo(px, py); } else { ctx.moveTo(px, py); started = true; }
      }
      ctx.stroke(); paths.push(pts);
    }
    ctx.globalAlpha = 1; ctx.strokeStyle = "#8a93a5"; ctx.fillStyle = "#1d2330"; ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center";
    cols.forEach(function (col, i) {
      var x = pad + i * step;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.fillText(col.name.replace(/^(params|metrics)\./, ""), Math.min(Math.max(x, 40), c.w - 40), 14);
      ctx.fillStyle = "#6b7385";
      var ticks = col.kind === "category" ? col.categories.map(function (_, k) { return k; }) : [ranges[i][0], ranges[i][1]];
      if (ticks.length > 8) { ticks = [ticks[0], ticks[ticks.length - 1]]; }
      ticks.forEach(function (v) { ctx.fillText(label(col, v), Math.min(Math.max(x, 30), c.w - 30), y(i, v) + (v === ranges[i][0] ? 14 : -4)); });
      ctx.fillStyle = "#1d2330";
    });
    canvas.onmousemove = function (e) {
      var rect = canvas.getBoundingClientRect(), mx = e.clientX - rect.left, my = e.clientY - rect.top;
      var seg = Math.max(0, Math.min(cols.length - 2, Math.floor((mx - pad) / step))), f = (mx - pad - seg * step) / step;
      var best = -1, bestD = 8;
      paths.forEach(function (pts, k) {
        if (pts[seg] == null || pts[seg + 1] == null) { return; }
        var d = Math.abs(pts[seg] + (pts[seg + 1] - pts[seg]) * f - my);
        if (d < bestD) { bestD = d; best = k; }
      });
      canvas.style.cursor = best >= 0 ? "pointer" : "default"; canvas._hit = best;
      showTip(best >= 0 ? data.runs[best].name : null, e.clientX, e.clientY);
    };
    canvas.onmouseleave = function () { showTip(null); };
    canvas.onclick = function () { if (canvas._hit >= 0) { window.location.href = ROOT + "/runs/" + data.runs[canvas._hit].id; } };
    canvas.dataset.drawn = "1";
  }

  function ticks(col) {
    if (col.kind === "category") { return col.categories.map(function (_, k) { return k; }); }
    var e = extent(col.values);
    return [e[0], (e[0] + e[1]) / 2, e[1]];
  }
  function scatter(data) {
    var canvas = document.getElementById("scatter"), sx = document.getElementById("scatter-x"), sy = document.getElementById("scatter-y");
    if (!canvas || !data || !data.columns.length) { return; }
    if (!sx.options.length) {
      data.columns.forEach(function (col, i) { sx.add(new Option(col.name, i)); sy.add(new Option(col.name, i)); });
      var firstMetric = data.columns.findIndex(function (col) { return col.name.indexOf("metrics.") === 0; });
      sx.value = 0; sy.value = firstMetric >= 0 ? firstMetric : Math.min(1, data.columns.length - 1);
      sx.onchange = sy.onchange = function () { scatter(data); };
    }
    var cx = data.columns[+sx.value], cy = data.columns[+sy.value];
    var c = setupCanvas(canvas), ctx = c.ctx, left = 56, right = c.w - 12, top = 12, bottom = c.h - 30;
    ctx.clearRect(0, 0, c.w, c.h);
    function range(col) {
      if (col.kind === "category") { return [-0.5, col.categories.length - 0.5]; }
      var e = extent(col.values), m = (e[1] - e[0]) * 0.05;
      return [e[0] - m, e[1] + m];
    }
    var rx = range(cx), ry = range(cy);
    function px(v) { return left + ((v - rx[0]) / (rx[1] - rx[0])) * (right - left); }
    function py(v) { return bottom - ((v - ry[0]) / (ry[1] - ry[0])) * (bottom - top); }
    ctx.strokeStyle = "#c9ced8"; ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, bottom); ctx.lineTo(right, bottom); ctx.stroke();
    ctx.fillStyle = "#6b7385"; ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ticks(cx).forEach(function (v) {
      if (cx.kind !== "category" || Number.isInteger(v)) { ctx.fillText(label(cx, v), px(v), bottom + 14); }
    });
    ctx.fillText(cx.name, (left + right) / 2, c.h - 3);
    ctx.textAlign = "right";
    ticks(cy).forEach(function (v) {
      if (cy.kind !== "category" || Number.isInteger(v)) { ctx.fillText(label(cy, v), left - 4, py(v) + 4); }
    });
    var pts = [];
    ctx.globalAlpha = 0.75;
    data.runs.forEach(function (run, i) {
      var x = cx.values[i], yv = cy.values[i];
      if (x == null || yv == null) { return; }
      var jx = cx.kind === "category" ? (((i * 7919) % 100) / 100 - 0.5) * 0.3 : 0;
      var X = px(x + jx), Y = py(yv);
      pts.push([X, Y, i]);
      ctx.fillStyle = color(i, data.runs.length);
      ctx.beginPath(); ctx.arc(X, Y, data.runs.length > 300 ? 2.5 : 4, 0, 6.283); ctx.fill();
    });
    ctx.globalAlpha = 1;
    canvas.onmousemove = function (e) {
      var rect = canvas.getBoundingClientRect(), mx = e.clientX - rect.left, my = e.clientY - rect.top, best = -1, bestD = 64;
      pts.forEach(function (p) { var d = (p[0] - mx) * (p[0] - mx) + (p[1] - my) * (p[1] - my); if (d < bestD) { bestD = d; best = p[2]; } });
      canvas._hit = best; canvas.style.cursor = best >= 0 ? "pointer" : "default";
      showTip(best >= 0 ? data.runs[best].name + "  (" + label(cx, cx.values[best]) + ", " + label(cy, cy.values[best]) + ")" : null, e.clientX, e.clientY);
    };
    canvas.onmouseleave = function () { showTip(null); };
    canvas.onclick = function () { if (canvas._hit >= 0) { window.location.href = ROOT + "/runs/" + data.runs[canvas._hit].id; } };
    canvas.dataset.drawn = "1";
  }

  function start() {
    syncSelection();
    runCharts();
    curves();
    var data = plotData();
    parallel(data);
    scatter(data);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
