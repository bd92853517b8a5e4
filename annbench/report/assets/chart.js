/* annbench report charts: hand-written SVG charts drawn from the embedded chart specs.
   No library, no network. Text from the data is only ever set with textContent. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 560;
  var SI = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) { if (attrs[key] !== null && attrs[key] !== undefined) node.setAttribute(key, attrs[key]); }
    if (parent) parent.appendChild(node);
    return node;
  }

  function short(v) {
    var a = Math.abs(v);
    for (var i = 0; i < SI.length; i++) {
      if (a >= SI[i][0]) return +(v / SI[i][0]).toPrecision(3) + SI[i][1];
    }
    return a !== 0 && a < 0.01 ? v.toExponential(0) : String(+v.toPrecision(3));
  }

  function niceStep(span, count) {
    var raw = span / Math.max(count, 1), mag = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / mag;
    return mag * (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10);
  }

  /* A numeric scale onto [a, b] pixels: log axes snap to decades, linear ones to nice steps. */
  function numericScale(values, log, a, b, zero, max) {
    var vs = values.filter(function (v) { return v !== null && isFinite(v) && (!log || v > 0); });
    if (!vs.length) vs = [1];
    var lo = Math.min.apply(null, vs), hi = Math.max.apply(null, vs), ticks = [];
    if (log) {  // the data's extent plus a margin, ticks at 1-2-5 (or decades when the range is wide)
      var l0 = Math.log10(lo), l1 = Math.log10(hi), margin = Math.max((l1 - l0) * 0.06, 0.08);
      l0 -= margin; l1 += margin;
      var sets = [[1], [1, 2, 5], [1, 1.5, 2, 3, 5, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
      for (var si = 0; si < sets.length && ticks.length < 4; si++) {  // the sparsest set giving 4 ticks
        ticks = [];
        for (var e = Math.floor(l0); e <= Math.ceil(l1); e++) {
          sets[si].forEach(function (m) { var t = m * Math.pow(10, e), lt = Math.log10(t); if (lt >= l0 && lt <= l1) ticks.push(t); });
        }
        if (si === 0 && l1 - l0 > 3.5 && ticks.length >= 3) break;
      }
      if (ticks.length < 2) ticks = [lo, hi].map(function (v) { return +v.toPrecision(2); });
      var f = function (v) { return a + (Math.log10(v) - l0) / (l1 - l0) * (b - a); };
      return { map: f, ticks: ticks, lo: Math.pow(10, l0), hi: Math.pow(10, l1) };
    }
    if (zero) lo = Math.min(0, lo);
    if (hi === lo) { hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1); lo = zero ? lo : lo - (hi - lo); }
    var step = niceStep(hi - lo, 5);
    var pad = zero ? 0 : step * 0.25;
    var start = Math.floor((lo - pad) / step) * step, end = Math.ceil((hi + pad) / step) * step;
    if (max !== undefined && max !== null && hi <= max) end = Math.min(end, max + step * 0.1);
    for (var t = start; t <= end + step * 1e-6; t += step) {
      if (max === undefined || max === null || t <= max + step * 1e-6) ticks.push(+t.toPrecision(10));
    }
    return { map: function (v) { return a + (v - start) / (end - start) * (b - a); }, ticks: ticks, lo: start, hi: end };
  }

  function categoryScale(cats, a, b) {
    var band = (b - a) / Math.max(cats.length, 1), pos = {};
    cats.forEach(function (c, i) { pos[c] = a + band * (i + 0.5); });
    return { map: function (c) { return pos[c]; }, ticks: cats, band: band, cat: true };
  }

  function marker(g, shape, x, y, r, attrs) {
    var node;
    if (shape === "square") node = el("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r }, g);
    else if (shape === "triangle") node = el("path", { d: "M" + x + "," + (y - r * 1.2) + "l" + r * 1.1 + "," + r * 2 + "h" + -r * 2.2 + "z" }, g);
    else if (shape === "diamond") node = el("path", { d: "M" + x + "," + (y - r * 1.3) + "l" + r * 1.3 + "," + r * 1.3 + "l" + -r * 1.3 + "," + r * 1.3 + "l" + -r * 1.3 + "," + -r * 1.3 + "z" }, g);
    else node = el("circle", { cx: x, cy: y, r: r }, g);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }

  function axes(svg, spec, sx, sy, box) {
    var grid = el("g", { "class": "grid" }, svg), ax = el("g", { "class": "axis" }, svg);
    sy.ticks.forEach(function (t) {
      var y = sy.map(t);
      el("line", { x1: box.l, x2: W - box.r, y1: y, y2: y }, grid);
      el("text", { x: box.l - 6, y: y + 3.5, "text-anchor": "end" }, ax).textContent = short(t);
    });
    sx.ticks.forEach(function (t) {
      var x = sx.map(t), label = el("text", { x: x, y: box.h - box.b + 15, "text-anchor": "middle" }, ax);
      if (!sx.cat) el("line", { x1: x, x2: x, y1: box.t, y2: box.h - box.b }, grid);
      label.textContent = sx.cat ? t : short(t);
      if (sx.cat && spec.kind === "bar") {
        label.setAttribute("text-anchor", "end");
        label.setAttribute("transform", "rotate(-35 " + x + " " + (box.h - box.b + 12) + ")");
      }
    });
    el("line", { x1: box.l, x2: W - box.r, y1: box.h - box.b, y2: box.h - box.b }, ax);
    el("line", { x1: box.l, x2: box.l, y1: box.t, y2: box.h - box.b }, ax);
    el("text", { "class": "axis-label", x: (box.l + W - box.r) / 2, y: box.h - 4, "text-anchor": "middle" }, svg).textContent =
      spec.kind === "bar" ? "" : spec.x.label;
    el("text", { "class": "axis-label", x: 0, y: 0, "text-anchor": "middle",
      transform: "translate(13 " + (box.t + (box.h - box.b - box.t) / 2) + ") rotate(-90)" }, svg).textContent = spec.y.label;
  }

  function bars(svg, spec, sx, sy) {
    var base = {};
    spec.series.forEach(function (s, si) {
      var g = el("g", { "class": "series", "data-series": si }, svg);
      s.points.forEach(function (p, pi) {
        var b0 = base[p.x] || 0, y0 = sy.map(b0), y1 = sy.map(b0 + (p.y || 0));
        base[p.x] = b0 + (p.y || 0);
        el("rect", { "class": "pt bar", x: sx.map(p.x) - sx.band * 0.36, width: sx.band * 0.72, y: Math.min(y0, y1),
          height: Math.max(Math.abs(y0 - y1), 0.5), fill: p.color || s.color, "data-s": si, "data-p": pi }, g);
      });
    });
  }

  function series(svg, spec, sx, sy) {
    spec.series.forEach(function (s, si) {
      var g = el("g", { "class": "series", "data-series": si }, svg);
      var ok = s.points.filter(function (p) { return p.x !== null && p.y !== null && (!spec.y.log || p.y > 0); });
      var line = s.line === "all" ? ok : s.line === "frontier" ? ok.filter(function (p) { return !p.faded; }) : [];
      if (line.length > 1) {
        var d = line.map(function (p, i) { return (i ? "L" : "M") + sx.map(p.x).toFixed(1) + "," + sy.map(p.y).toFixed(1); }).join("");
        el("path", { "class": "frontier", d: d, stroke: s.color, "stroke-dasharray": s.dash ? "6 4" : null }, g);
      }
      ok.forEach(function (p) {  // the spread over the rounds, where known
        if (p.ylo === undefined || p.yhi === undefined || (spec.y.log && p.ylo <= 0)) return;
        var x = sx.map(p.x), y0 = sy.map(p.ylo), y1 = sy.map(p.yhi);
        el("path", { "class": "err" + (p.faded ? " faded" : ""), stroke: s.color,
          d: "M" + x.toFixed(1) + "," + y0.toFixed(1) + "V" + y1.toFixed(1) +
             "M" + (x - 2.5).toFixed(1) + "," + y0.toFixed(1) + "h5M" + (x - 2.5).toFixed(1) + "," + y1.toFixed(1) + "h5" }, g);
      });
      s.points.forEach(function (p, pi) {
        if (ok.indexOf(p) < 0) return;
        marker(g, s.marker, sx.map(p.x), sy.map(p.y), p.faded ? 3.4 : 4.4,
          { "class": "pt" + (p.faded ? " faded" : ""), fill: s.color, stroke: "#fff", "stroke-width": 1, "data-s": si, "data-p": pi });
      });
    });
  }

  function legend(fig, svg, spec) {
    if (spec.kind === "bar" && spec.series.length < 2) return;
    var box = document.createElement("div");
    box.className = spec.series.length > 8 ? "legend many" : "legend";
    spec.series.forEach(function (s, si) {
      var button = document.createElement("button");
      button.type = "button";
      button.title = "show / hide";
      var key = el("svg", { viewBox: "0 0 22 10" });
      if (spec.kind === "bar") el("rect", { x: 6, y: 0, width: 10, height: 10, rx: 2, fill: s.color }, key);
      else {
        el("line", { x1: 1, x2: 21, y1: 5, y2: 5, stroke: s.color, "stroke-width": 2, "stroke-dasharray": s.dash ? "4 3" : null }, key);
        marker(key, s.marker, 11, 5, 3.4, { fill: s.color });
      }
      button.appendChild(key);
      button.appendChild(document.createTextNode(s.name));
      button.addEventListener("click", function () {
        button.classList.toggle("off");
        svg.querySelector('g.series[data-series="' + si + '"]').classList.toggle("hidden");
      });
      box.appendChild(button);
    });
    fig.insertBefore(box, svg);
  }

  function showTip(event, spec) {
    var t = event.target, tip = document.getElementById("tip");
    if (!t.classList || !t.classList.contains("pt")) return;
    var s = spec.series[+t.getAttribute("data-s")], p = s.points[+t.getAttribute("data-p")];
    tip.textContent = "";
    var head = document.createElement("b");
    head.textContent = spec.kind === "bar" ? s.name + " · " + short(p.y) + " " + spec.y.label : s.name;
    tip.appendChild(head);
    var table = document.createElement("table");
    p.info.forEach(function (pair) {
      var tr = table.insertRow(), k = tr.insertCell(), v = tr.insertCell();
      k.textContent = pair[0]; v.textContent = pair[1];
    });
    tip.appendChild(table);
    tip.hidden = false;
    t.classList.add("hover");
    moveTip(event);
  }

  function moveTip(event) {
    var tip = document.getElementById("tip");
    if (tip.hidden) return;
    var x = event.pageX + 14, y = event.pageY + 14, maxX = window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8;
    tip.style.left = Math.max(window.scrollX + 4, Math.min(x, maxX)) + "px";
    tip.style.top = y + "px";
  }

  function hideTip(event) {
    document.getElementById("tip").hidden = true;
    if (event.target.classList) event.target.classList.remove("hover");
  }

  function draw(fig, spec) {
    var bar = spec.kind === "bar", cats = spec.x.categories;
    var longest = cats ? Math.max.apply(null, cats.map(function (c) { return c.length; })) : 0;
    var box = { l: 58, r: 12, t: 10, b: bar ? Math.min(170, 26 + longest * 3.9) : 42 };
    box.h = 330 + (bar ? box.b - 42 : 0);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + box.h, role: "img", "aria-label": spec.title, "class": "plot" });
    var xs = [], ys = [], stacked = {};
    spec.series.forEach(function (s) {
      s.points.forEach(function (p) {
        xs.push(p.x); ys.push(p.y);
        if (p.ylo !== undefined) ys.push(p.ylo, p.yhi);
        if (bar) stacked[p.x] = (stacked[p.x] || 0) + (p.y || 0);
      });
    });
    if (bar) ys = Object.keys(stacked).map(function (k) { return stacked[k]; });
    var sx = cats ? categoryScale(cats, box.l, W - box.r) : numericScale(xs, spec.x.log, box.l + 6, W - box.r - 6, false, spec.x.max);
    var sy = numericScale(ys, spec.y.log, box.h - box.b, box.t, bar, spec.y.max);
    axes(svg, spec, sx, sy, box);
    (bar ? bars : series)(svg, spec, sx, sy);
    fig.appendChild(svg);
    legend(fig, svg, spec);
    svg.addEventListener("mouseover", function (e) { showTip(e, spec); });
    svg.addEventListener("mousemove", moveTip);
    svg.addEventListener("mouseout", hideTip);
  }

  function init() {
    var node = document.getElementById("chart-data");
    if (!node) return;
    var charts = JSON.parse(node.textContent);
    document.querySelectorAll("figure.chart[data-chart]").forEach(function (fig) {
      var spec = charts[fig.getAttribute("data-chart")];
      if (spec) draw(fig.querySelector(".plot-box"), spec);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
