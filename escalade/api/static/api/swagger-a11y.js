// Swagger UI titles the page with an h1 and its sections with h3 and h4: announced as level 2, so
// that the outline skips no level (axe: heading-order). The page's CSP allows this file ('self').
(function () {
  "use strict";
  function outline() {
    var sections = document.querySelectorAll("h3.opblock-tag, section.models > h4");
    for (var i = 0; i < sections.length; i++) {
      if (sections[i].getAttribute("aria-level") !== "2") sections[i].setAttribute("aria-level", "2");
    }
  }
  new MutationObserver(outline).observe(document.documentElement, {childList: true, subtree: true});
})();
