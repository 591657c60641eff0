<<<<<<< HEAD
// Starts Swagger UI over the spec URL the page names (kept out of the page: no inline script under the CSP).
window.addEventListener("load", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
=======
// Starts Swagger UI on /api/docs (a file, not an inline script: the pages run under a strict CSP).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
>>>>>>> 555fe93 (Phone-first lists, Kiswahili for every page, session expiry with a way back, console suggestions from the router's own menus)
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    persistAuthorization: true,
<<<<<<< HEAD
    validatorUrl: null, // the badge would call a public validator; nothing leaves this host
    presets: [window.SwaggerUIBundle.presets.apis],
=======
    validatorUrl: null,  // the badge would call a public validator; nothing leaves this host
    presets: [SwaggerUIBundle.presets.apis],
>>>>>>> 555fe93 (Phone-first lists, Kiswahili for every page, session expiry with a way back, console suggestions from the router's own menus)
  });
});
