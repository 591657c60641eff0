// The customer portal: brand colours from data attributes (no inline styles under the CSP), and the hotspot
// login form submitted once the voucher is shown, so the device goes online without another tap.
(function () {
  "use strict";
  function applyColours() {
    var body = document.body;
    if (body.dataset.primary) { body.style.setProperty("--portal-primary", body.dataset.primary); }
    if (body.dataset.accent) { body.style.setProperty("--portal-accent", body.dataset.accent); }
  }
  function autoLogin(root) {
    var form = (root || document).querySelector("form[data-autologin]:not([data-submitted])");
    if (form) {
      form.setAttribute("data-submitted", "1");
      window.setTimeout(function () { form.submit(); }, 1500);
    }
  }
  document.addEventListener("DOMContentLoaded", function () { applyColours(); autoLogin(document); });
  document.addEventListener("htmx:afterSwap", function (event) { autoLogin(event.target.parentNode || document); });
})();
