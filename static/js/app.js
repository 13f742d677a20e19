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
  // and never while the user has an edit form open in the list or has just
  // replaced it (the token is then kept, so the change comes again). An answer
  // marked X-Changes-Only replaces that element alone (the stepper, when only
  // another stage moved on). An answer with the items may carry the add form's
  // fresh choices (<template id="add-item-choices">): see refreshChoices.
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
            if (response.status !== 200) {
              if (token) poller.dataset.pollToken = token;
              return null;
            }
            var only = response.headers.get("X-Changes-Only");
            return response.text().then(function (html) {
              return { html: html, into: only ? document.getElementById(only) : target, token: token };
            });
          })
          .then(function (answer) {
            if (!answer) return;
            // The token moves on only once the answer is on the page. Not if
            // the list was replaced meanwhile (the person's own add or edit) or
            // an edit form opened in it: the next poll, asking with the old
            // token, brings the change again.
            var into = answer.into;
            if (!answer.html || !into || !into.isConnected) return;
            if (into === target && target.querySelector("form")) return;
            var holder = document.createElement("template");
            holder.innerHTML = answer.html;
            var choices = holder.content.getElementById("add-item-choices");
            if (choices) choices.remove();
            htmx.swap(into, choices ? holder.innerHTML : answer.html, { swapStyle: "outerHTML" });
            if (choices) {
              try {
                refreshChoices(document.querySelector("#add-item form"), choices.content);
              } catch (error) { /* the list is current; the form keeps the choices it had */ }
            }
            if (answer.token) poller.dataset.pollToken = answer.token;
          })
          .catch(function () { /* offline for a moment: try again next time */ })
          .finally(function () { busy = false; });
      }, parseInt(poller.dataset.pollMs || "2000", 10));
    });
  }

  // The add form's choices drawn from the case (a benefit's lagging metric, the
  // metrics a leading metric drives, an investment's organisation) as they are
  // now: each [data-choice-field] of `fresh` holds one field as the page renders
  // it. Only the options change: an option still offered keeps its element (so
  // stays picked, and focused), a new one is added unpicked, a deleted one goes
  // (a required choice left empty is refused by the server on submit). Text the
  // person typed, and every other field, are left alone.
  function refreshChoices(form, fresh) {
    if (!form) return;
    fresh.querySelectorAll("[data-choice-field]").forEach(function (field) {
      var name = field.dataset.choiceField;
      var focused = document.activeElement;
      var select = field.querySelector("select");
      if (select) {
        var live = form.querySelector("select[name='" + name + "']");
        if (!live) return;
        var picked = Array.prototype.filter.call(live.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        reconcile(live, Array.prototype.slice.call(live.options), Array.prototype.slice.call(select.options),
          function (option) { return option.value; },
          function (mine, theirs) { if (mine.text !== theirs.text) mine.text = theirs.text; });
        Array.prototype.forEach.call(live.options, function (o) { o.selected = picked.indexOf(o.value) >= 0; });
        if (!live.multiple && live.selectedIndex < 0 && live.options.length) live.selectedIndex = 0;
      } else {
        var selector = "input[name='" + name + "']";
        var boxes = form.querySelectorAll(selector);
        var wrapper = field.firstElementChild;
        if (!boxes.length) {
          if (!field.querySelector(selector)) return;  // still nothing to offer
          // Nothing offered yet, so nothing picked: the field as it is now.
          var old = wrapper && wrapper.id && form.querySelector("[id='" + wrapper.id + "']");
          if (old) old.replaceWith(document.importNode(wrapper, true));
          return;
        }
        var item = function (input) { return input.closest(".form-check") || input.parentElement; };
        var mine = Array.prototype.map.call(boxes, item);
        reconcile(mine[0].parentElement, mine, Array.prototype.map.call(field.querySelectorAll(selector), item),
          function (el) { return el.querySelector(selector).value; },
          function (el, theirs) {
            var input = el.querySelector(selector), label = el.querySelector("label");
            var theirLabel = theirs.querySelector("label");
            input.id = theirs.querySelector(selector).id;
            if (label && theirLabel && !label.contains(input)) {
              label.htmlFor = theirLabel.htmlFor;
              if (label.textContent !== theirLabel.textContent) label.textContent = theirLabel.textContent;
            }
          });
      }
      if (focused && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
    });
  }

  // Makes `container`'s items (`mine`, side by side in it) follow `theirs`
  // (from another document), matched by key: kept ones updated in place by
  // `update` and moved only if their order changed, new ones copied in
  // unpicked, the rest removed.
  function reconcile(container, mine, theirs, key, update) {
    var kept = {}, wanted = {};
    theirs.forEach(function (el) { wanted[key(el)] = true; });
    var place = document.createComment("");  // where the items start
    container.insertBefore(place, mine.length ? mine[0] : null);
    mine.forEach(function (el) {
      if (wanted[key(el)]) kept[key(el)] = el; else el.remove();
    });
    var previous = place;
    theirs.forEach(function (el) {
      var own = kept[key(el)];
      if (own) {
        update(own, el);
      } else {
        own = document.importNode(el, true);
        if (own.tagName === "OPTION") own.selected = false;
        own.removeAttribute("selected");
        own.querySelectorAll("input").forEach(function (input) { input.checked = false; });
      }
      if (previous.nextElementSibling !== own) container.insertBefore(own, previous.nextSibling);
      previous = own;
    });
    place.remove();
  }

  document.addEventListener("DOMContentLoaded", function () { syncInvestmentKind(document); startPolling(document); });
  document.addEventListener("htmx:afterSettle", function (event) { syncInvestmentKind(event.target); });
})();

// Phones: the stage page's stepper folds behind a toggle (Bootstrap collapse).
// A live update replaces the stepper (and htmx settles its classes back a
// moment later): if the person had it open, it stays open.
(function () {
  "use strict";
  var open = false;
  document.addEventListener("show.bs.collapse", function (event) { if (event.target.id === "stepper-list") open = true; });
  document.addEventListener("hide.bs.collapse", function (event) { if (event.target.id === "stepper-list") open = false; });
  function keepOpen() {
    var list = document.getElementById("stepper-list");
    if (!open || !list || list.classList.contains("show") || list.classList.contains("collapsing")) return;
    list.classList.add("show");
    var toggle = document.querySelector("[data-bs-target='#stepper-list']");
    if (toggle) { toggle.classList.remove("collapsed"); toggle.setAttribute("aria-expanded", "true"); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var stepper = document.getElementById("stepper");
    if (!stepper || !window.MutationObserver) return;
    new MutationObserver(keepOpen).observe(stepper.parentNode, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
  });
})();

// Presenter: left and right arrows go to the previous and next stage, Escape
// leaves; not while typing in a field, nor with a modifier key held.
document.addEventListener("keydown", function (event) {
  "use strict";
  if (!document.body.classList.contains("presenter") || event.defaultPrevented) return;
  if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
  var target = event.target;
  if (target && (target.isContentEditable || (target.closest && target.closest("input, textarea, select")))) return;
  if (["ArrowLeft", "ArrowRight", "Escape"].indexOf(event.key) < 0) return;
  var link = document.querySelector("[data-presenter-key='" + event.key + "']");
  if (!link) return;
  event.preventDefault();
  window.location.assign(link.href);
});
