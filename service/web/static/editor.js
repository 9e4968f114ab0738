// The candidate editor of the simulation page: line numbers beside the textarea, the lines
// with problems marked, and each problem a link that puts the cursor at its line and column.
(function () {
  "use strict";
  var area = document.getElementById("candidate");
  var gutter = document.getElementById("gutter");
  if (!area || !gutter) { return; }
  var bad = {};
  (area.getAttribute("data-bad-lines") || "").split(",").forEach(function (n) {
    if (n) { bad[n] = true; }
  });
  var shown = 0;

  function number() {
    var count = area.value.split("\n").length;
    if (count === shown) { return; }
    shown = count;
    var lines = document.createDocumentFragment();
    for (var i = 1; i <= count; i++) {
      var line = document.createElement("span");
      if (bad[i]) { line.className = "bad"; }
      line.textContent = i + "\n";
      lines.appendChild(line);
    }
    gutter.replaceChildren(lines);
    gutter.scrollTop = area.scrollTop;
  }

  function goTo(line, col) {
    var lines = area.value.split("\n");
    line = Math.max(1, Math.min(line, lines.length));
    var start = 0;
    for (var i = 0; i < line - 1; i++) { start += lines[i].length + 1; }
    var text = lines[line - 1];
    var at = start + Math.max(0, Math.min(col - 1, text.length));
    area.focus({ preventScroll: true });
    area.setSelectionRange(at, start + text.length);  // from the column to the line's end
    var height = parseFloat(getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, (line - 1) * height - area.clientHeight / 3);
    area.scrollLeft = 0;
    area.scrollIntoView({ block: "nearest" });
    gutter.scrollTop = area.scrollTop;
  }

  area.addEventListener("input", number);
  area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
  document.querySelectorAll("a.goto[data-line]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      goTo(parseInt(link.getAttribute("data-line"), 10), parseInt(link.getAttribute("data-col"), 10) || 1);
    });
  });
  number();
}());
