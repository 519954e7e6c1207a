// The desk's only script: while an action waits in the outbox, the case page reloads itself every
// few seconds to show the hub's confirmation, unless the clerk has started typing into a form.
(function () {
  "use strict";
  var edited = false;
  document.addEventListener("input", function () { edited = true; });
  if (document.body && document.body.dataset.pending === "true") {
    setInterval(function () {
      if (!edited) { window.location.reload(); }
    }, 3000);
  }
})();
