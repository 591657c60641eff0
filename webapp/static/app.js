// RouterDeck's only page script (no inline scripts anywhere: the pages run under a strict CSP).

function routerdeckMessage(name, fallback) {
  return (document.body && document.body.dataset[name]) || fallback;
}

function routerdeckFlash(text, kind) {
  var flash = document.getElementById("flash");
  if (!flash) { return; }
  var p = document.createElement("p");
  p.className = "flash flash-" + (kind || "error");
  p.setAttribute("role", "alert");
  p.textContent = text;
  flash.appendChild(p);
  p.scrollIntoView({block: "nearest"});
}

// The reason of an error answer: the X-Error-Message header (percent-encoded UTF-8, so Kiswahili survives
// HTTP's latin-1 headers), else the JSON body's "error", else nothing.
function routerdeckReason(xhr) {
  var header = xhr.getResponseHeader("X-Error-Message");
  if (header) {
    try { return decodeURIComponent(header); } catch (e) { return header; }
  }
  var type = xhr.getResponseHeader("Content-Type") || "";
  if (type.indexOf("application/json") === 0) {
    try { return JSON.parse(xhr.responseText).error || ""; } catch (e) { return ""; }
  }
  return "";
}

// An expired session answers htmx with HX-Redirect to the login page (htmx follows it itself). Other errors
// htmx does not swap are shown in the flash area with the server's reason.
document.addEventListener("htmx:responseError", function (event) {
  var xhr = event.detail.xhr;
  if (xhr.getResponseHeader("HX-Redirect")) { return; }
  var reason = routerdeckReason(xhr);
  routerdeckFlash(routerdeckMessage("msgRequestFailed", "Request failed") + " (" + xhr.status + ")" +
                  (reason ? ": " + reason : "."));
});

document.addEventListener("htmx:sendError", function () {
  routerdeckFlash(routerdeckMessage("msgNetworkError", "The server could not be reached."));
});

// The navigation collapses behind a Menu button on narrow screens.
document.addEventListener("click", function (event) {
  var toggle = event.target.closest("[data-nav-toggle]");
  if (!toggle) { return; }
  var menu = document.getElementById(toggle.getAttribute("aria-controls"));
  var open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (menu) { menu.classList.toggle("nav-open", open); }
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

// Filters that apply as soon as they change (<select data-autosubmit>), without inline handlers.
document.addEventListener("change", function (event) {
  var field = event.target.closest("[data-autosubmit]");
  if (field && field.form) { field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit(); }
});
