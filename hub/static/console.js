// The staff console's only script (no build step). Everything works without it; it adds:
// - live refresh: pages marked data-live listen to /live (server-sent events) and reload their
//   #queue section when the event log moves, unless the user is typing in a form;
// - the settlement picker follows the chosen district;
// - while the operator types a phone number, the caller's earlier appeals appear.
"use strict";

(function () {
  function refresh() {
    var active = document.activeElement;
    if (active && active.form && active.value) return; // never under the user's fingers
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("queue");
        var here = document.getElementById("queue");
        if (fresh && here) {
          here.replaceWith(fresh);
          var status = document.getElementById("live-status");
          if (status) status.textContent = "Оновлено " + new Date().toLocaleTimeString("uk-UA");
        }
      })
      .catch(function () {});
  }

  if (document.body.dataset.live && window.EventSource) {
    var source = new EventSource("/live");
    source.addEventListener("changed", refresh);
  }

  var district = document.getElementById("district");
  var settlement = document.getElementById("settlement");
  if (district && settlement) {
    var follow = function () {
      Array.prototype.forEach.call(settlement.options, function (o) {
        var group = o.getAttribute("data-district");
        o.hidden = !!(group && district.value && group !== district.value);
      });
      var chosen = settlement.selectedOptions[0];
      if (chosen && chosen.hidden) settlement.value = "";
    };
    district.addEventListener("change", follow);
    follow();
  }

  var phone = document.getElementById("phone");
  var hints = document.getElementById("phone-hints");
  if (phone && hints && phone.form && phone.form.id === "register-form") {
    var timer = null;
    phone.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var digits = phone.value.replace(/\D/g, "");
        if (digits.length < 9) { hints.innerHTML = ""; return; }
        fetch("/operator/hints?phone=" + encodeURIComponent(phone.value), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) { hints.innerHTML = html; })
          .catch(function () {});
      }, 400);
    });
  }
})();
