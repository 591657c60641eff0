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

// Key/value rows of the command console: "+ Add row" copies an empty row, "×" removes one (the last is cleared).
document.addEventListener("click", function (event) {
  var add = event.target.closest("[data-kv-add]");
  if (add) {
    var rows = add.closest("[data-kv]").querySelector(".kv-rows");
    var row = rows.lastElementChild.cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    rows.appendChild(row);
    row.querySelector("input").focus();
    return;
  }
  var remove = event.target.closest("[data-kv-remove]");
  if (remove) {
    var current = remove.closest(".kv-row");
    if (current.parentElement.children.length > 1) {
      current.remove();
    } else {
      current.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    }
  }
});
