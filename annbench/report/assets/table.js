/* annbench report tables: click a header to sort (again to reverse); type to filter rows. */
(function () {
  "use strict";

  function value(cell) {
    var raw = cell.getAttribute("data-v");
    if (raw === null) raw = cell.textContent;
    var num = Number(raw);
    return raw !== "" && isFinite(num) ? { n: num } : { s: raw.toLowerCase() };
  }

  function compare(a, b) {
    if ("n" in a && "n" in b) return a.n - b.n;
    if ("n" in a) return -1;
    if ("n" in b) return 1;
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }

  function sortBy(table, th) {
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var descending = th.getAttribute("aria-sort") === "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var c = compare(value(r1.cells[col]), value(r2.cells[col]));
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  /* The query explorer: reorder its queries by a difficulty measure, hardest first. */
  function sortQueries(box, by) {
    var items = Array.prototype.slice.call(box.querySelectorAll("details.query"));
    var key = function (d, name) { var v = d.getAttribute("data-" + name); return v === null || v === "" ? NaN : Number(v); };
    items.sort(function (a, b) {
      if (by === "order") return key(a, "pos") - key(b, "pos");
      var x = key(a, by), y = key(b, by);
      if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
      return by === "rc" ? x - y : y - x;  // low contrast is hard; high LID, OOD and misses are hard
    });
    items.forEach(function (d) { box.appendChild(d); });
  }

  function init() {
    document.querySelectorAll(".explorer-queries").forEach(function (box) {
      box.querySelectorAll("details.query").forEach(function (d, i) { d.setAttribute("data-pos", i); });
      var select = box.querySelector(".explorer-sort select");
      if (select) select.addEventListener("change", function () { sortQueries(box, select.value); });
    });
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (th) {
        th.addEventListener("click", function () { sortBy(table, th); });
        th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(table, th); });
      });
    });
    document.querySelectorAll("input.filter[data-for]").forEach(function (input) {
      var table = document.getElementById(input.getAttribute("data-for"));
      input.addEventListener("input", function () {
        var q = input.value.toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
