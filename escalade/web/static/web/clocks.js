// Live clocks: each [data-due] counts down to its deadline, then counts the overdue up.
// Server time is the reference (the page carries it), so a wrong client clock does not lie.
(function () {
  "use strict";
  var serverNow = Date.parse(document.body.getAttribute("data-server-now"));
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // The units come from the page, in its language: "j h mn s", the core's (templatetags clock_units).
  var units = (document.body.getAttribute("data-clock-units") || "j h mn s").split(" ");

  function format(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return (d ? d + " " + units[0] + " " : "") + (d || h ? h + " " + units[1] + " " : "") +
      pad(m) + " " + units[2] + " " + pad(s % 60) + " " + units[3];
  }

  function tick() {
    var now = Date.now() + skew;
    var clocks = document.querySelectorAll(".clock[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var left = Date.parse(el.getAttribute("data-due")) - now;
      if (isNaN(left)) continue;
      var over = left <= 0;
      el.textContent = (over ? el.getAttribute("data-late") : el.getAttribute("data-left")).replace("{}", format(left));
      el.classList.toggle("over", over);
    }
  }
  tick();
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:afterSwap", tick);
})();
