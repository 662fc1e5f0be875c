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
      (d || h ? pad(m) : String(m)) + " " + units[2] + " " + pad(s % 60) + " " + units[3];
  }

  // A part of the page that changes at a known instant (a deadline, a level opening) is fetched
  // again then, state, message, contacts and form together; at most once every 5 s. Through the
  // part's own trigger ("escalade:due"), so that its hx-sync keeps one request at a time: a second
  // swap of the part already replaced lost the reason being typed (hx-preserve's pantry).
  var lastRefresh = 0;
  function refreshDue(now) {
    var parts = document.querySelectorAll("[data-refresh-at][hx-get]");
    for (var i = 0; i < parts.length; i++) {
      var at = Date.parse(parts[i].getAttribute("data-refresh-at"));
      if (!isNaN(at) && now >= at + 500 && Date.now() - lastRefresh > 5000 && window.htmx) {
        lastRefresh = Date.now();
        window.htmx.trigger(parts[i], "escalade:due");
      }
    }
  }

  function tick() {
    var now = Date.now() + skew;
    refreshDue(now);
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
  // Acknowledging from the feed swaps the feed: focus goes back to the same escalation's item
  // rather than to the top of the page.
  var focusAfterSwap = null;
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var item = event.target.closest && event.target.closest(".feed-item");
    if (item && event.target.tagName === "FORM") focusAfterSwap = item.id;
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!focusAfterSwap || event.target.id !== "feed") return;
    var item = document.getElementById(focusAfterSwap);
    focusAfterSwap = null;
    if (item) { item.setAttribute("tabindex", "-1"); item.focus(); }
  });

  tick();
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:afterSwap", tick);
})();
