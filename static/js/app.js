// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Investments: show the amount for cash, person-days and day rate for time.
  function syncInvestmentKind(root) {
    root.querySelectorAll("select[name='kind']").forEach(function (select) {
      var form = select.closest("form");
      if (!form || !form.querySelector("[name='person_days']")) return;
      var isTime = select.value === "time";
      [["amount", !isTime], ["person_days", isTime], ["day_rate", isTime]].forEach(function (pair) {
        var input = form.querySelector("[name='" + pair[0] + "']");
        var wrapper = input && input.closest(".field-wrapper");
        if (wrapper) wrapper.hidden = !pair[1] && !input.value && !wrapper.querySelector(".invalid-feedback");
      });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name='kind']")) syncInvestmentKind(document);
  });

  // Tell the user when a request failed instead of silently doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403 ? refusal(event.detail.xhr.responseText)
      : status === 404 ? "This item no longer exists; it may have been deleted by someone else. Reload the page."
      : "Something went wrong (" + status + "). Your change was not saved; please try again.";
    showMessage(text, "danger");
  });
  document.addEventListener("htmx:sendError", function () {
    showMessage("The server could not be reached. Your change was not saved; check the connection and try again.", "danger");
  });

  // The reason the server gave for a 403 (an archived case, a viewer's role).
  function refusal(html) {
    var reason = new DOMParser().parseFromString(html || "", "text/html").querySelector("[data-refusal]");
    return (reason && reason.textContent.trim()) || "You can read this case but not change it.";
  }

  function showMessage(text, level) {
    var box = document.getElementById("messages");
    if (!box) return;
    var alert = document.createElement("div");
    alert.className = "alert alert-" + level + " alert-dismissible fade show";
    alert.setAttribute("role", "alert");
    alert.textContent = text;
    var close = document.createElement("button");
    close.type = "button"; close.className = "btn-close"; close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", "Close");
    alert.appendChild(close);
    box.appendChild(alert);
    window.scrollTo({ top: 0, behavior: "smooth" });
  }

  // Live pages: ask "changed since <token>?" every few seconds while the tab is
  // visible; swap in the new items only when the answer is yes (200, not 204),
  // and never while the user has an edit form open in the list. An answer marked
  // X-Changes-Only replaces that element alone (the stepper, when only another
  // stage moved on).
  function startPolling(root) {
    root.querySelectorAll("[data-poll-url]").forEach(function (poller) {
      if (poller.dataset.polling) return;
      poller.dataset.polling = "1";
      var busy = false;
      setInterval(function () {
        if (busy || document.visibilityState !== "visible") return;
        var target = document.querySelector(poller.dataset.pollTarget);
        if (!target || target.querySelector("form")) return;
        var url = poller.dataset.pollUrl;
        url += (url.indexOf("?") >= 0 ? "&" : "?") + "since=" + encodeURIComponent(poller.dataset.pollToken || "");
        busy = true;
        fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
          .then(function (response) {
            var token = response.headers.get("X-Changes-Token");
            if (token) poller.dataset.pollToken = token;
            if (response.status !== 200) return null;
            var only = response.headers.get("X-Changes-Only");
            return response.text().then(function (html) {
              return { html: html, into: only ? document.getElementById(only) : target };
            });
          })
          .then(function (answer) {
            if (!answer || !answer.html || !answer.into || !answer.into.isConnected) return;
            if (answer.into === target && target.querySelector("form")) return;
            htmx.swap(answer.into, answer.html, { swapStyle: "outerHTML" });
          })
          .catch(function () { /* offline for a moment: try again next time */ })
          .finally(function () { busy = false; });
      }, parseInt(poller.dataset.pollMs || "2000", 10));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { syncInvestmentKind(document); startPolling(document); });
  document.addEventListener("htmx:afterSettle", function (event) { syncInvestmentKind(event.target); });
})();
