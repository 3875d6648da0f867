/* The review of a scan's researcher's copy (repository/web/views/scans.py): each page's boxes drawn over its image;
   drag on a page (mouse, pen or touch) to add a box, click a proposed box to remove it (again: to keep it), click an added box to drop
   it. The boxes kept go into the form's "boxes" field as {"<page>": [[left, top, right, bottom], ...]} in the page
   image's pixels; without this script the form sends the proposed boxes as they are. */
(function () {
  "use strict";
  var input = document.getElementById("scan-boxes");
  if (!input) { return; }
  var given = {};
  try { given = JSON.parse(input.value) || {}; } catch (e) { given = {}; }
  var pages = {};

  function save() {
    var out = {};
    Object.keys(pages).forEach(function (n) {
      out[n] = pages[n].filter(function (b) { return !b.removed; }).map(function (b) { return b.box; });
    });
    input.value = JSON.stringify(out);
  }

  function size(fig) { return [Number(fig.getAttribute("data-width")), Number(fig.getAttribute("data-height"))]; }

  function place(el, box, fig) {
    var wh = size(fig);
    el.style.left = (100 * box[0] / wh[0]) + "%";
    el.style.top = (100 * box[1] / wh[1]) + "%";
    el.style.width = (100 * (box[2] - box[0]) / wh[0]) + "%";
    el.style.height = (100 * (box[3] - box[1]) / wh[1]) + "%";
  }

  function render(fig) {
    var n = fig.getAttribute("data-page");
    Array.prototype.forEach.call(fig.querySelectorAll(".scan-box"), function (el) { el.parentNode.removeChild(el); });
    pages[n].forEach(function (b, k) {
      var el = document.createElement("button");
      el.type = "button";
      el.className = "scan-box" + (b.added ? " added" : "") + (b.removed ? " removed" : "");
      el.title = fig.getAttribute(b.removed ? "data-keep" : "data-remove");
      place(el, b.box, fig);
      el.addEventListener("click", function (ev) {
        ev.preventDefault();
        if (b.added) { pages[n].splice(k, 1); } else { b.removed = !b.removed; }
        render(fig);
        save();
      });
      fig.appendChild(el);
    });
  }

  function point(fig, ev) {
    var img = fig.querySelector("img"), r = img.getBoundingClientRect(), wh = size(fig);
    var x = Math.round((ev.clientX - r.left) / r.width * wh[0]), y = Math.round((ev.clientY - r.top) / r.height * wh[1]);
    return [Math.min(Math.max(x, 0), wh[0]), Math.min(Math.max(y, 0), wh[1])];
  }

  Array.prototype.forEach.call(document.querySelectorAll("figure.scan-page"), function (fig) {
    var n = fig.getAttribute("data-page"), start = null, ghost = null;
    pages[n] = (given[n] || []).map(function (box) { return {box: box, removed: false, added: false}; });
    render(fig);
    function box(end) {
      return [Math.min(start[0], end[0]), Math.min(start[1], end[1]), Math.max(start[0], end[0]), Math.max(start[1], end[1])];
    }
    fig.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0 || ev.target.classList.contains("scan-box")) { return; }
      ev.preventDefault();
      start = point(fig, ev);
      ghost = document.createElement("div");
      ghost.className = "scan-box added drawing";
      fig.appendChild(ghost);
      place(ghost, box(start), fig);
    });
    window.addEventListener("pointermove", function (ev) {
      if (start) { place(ghost, box(point(fig, ev)), fig); }
    });
    window.addEventListener("pointerup", function (ev) {
      if (!start) { return; }
      var made = box(point(fig, ev));
      start = null;
      ghost.parentNode.removeChild(ghost);
      if (made[2] - made[0] >= 3 && made[3] - made[1] >= 3) {
        pages[n].push({box: made, removed: false, added: true});
        render(fig);
        save();
      }
    });
  });

  var original = document.getElementById("scan-original");
  if (original) {
    original.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("figure.scan-page img"), function (img) {
        var other = img.getAttribute("data-other");
        img.setAttribute("data-other", img.getAttribute("src"));
        img.setAttribute("src", other);
      });
    });
  }
  save();
}());
