// An expired session answers htmx with 401 + HX-Redirect; htmx follows that header itself.
// Errors htmx does not swap are still surfaced to the user in the flash area.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr.status;
  if (event.detail.xhr.getResponseHeader("HX-Redirect")) { return; }
  var flash = document.getElementById("flash");
  if (!flash) { return; }
  var p = document.createElement("p");
  p.className = "flash flash-error";
  p.setAttribute("role", "alert");
  p.textContent = "Request failed (" + status + "). " + (event.detail.xhr.getResponseHeader("X-Error-Message") || "");
  flash.appendChild(p);
});
