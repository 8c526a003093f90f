// AcademicHub page behaviour: KaTeX for $…$ in titles and abstracts, the keyboard
// shortcuts j/k (move between cards), s (save), o (open), and the browser's time zone in a
// cookie (a new account takes it, so its briefing comes at the reader's own morning). No
// inline scripts: the CSP allows only files from this site.
(function () {
  "use strict";

  function rememberTimeZone() {
    var zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return;
    }
    // IANA names ("America/Argentina/Buenos_Aires", "Etc/GMT+5") need no escaping.
    var cookie = "tz=" + zone;
    if (!/^[A-Za-z0-9_+\/-]{1,64}$/.test(zone)) return;
    if (document.cookie.split("; ").indexOf(cookie) !== -1) return;
    document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax";
  }
  rememberTimeZone();

  function renderMath(root) {
    if (!window.renderMathInElement) return;
    root.querySelectorAll(".tex").forEach(function (el) {
      if (el.dataset.texDone) return;
      window.renderMathInElement(el, {
        // Longest first: "$$" must not be read as two empty "$…$". The others are the math
        // that feeds.pipeline.text leaves as written (arXiv abstracts use them too).
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false },
          { left: "\\[", right: "\\]", display: true },
          { left: "\\begin{equation}", right: "\\end{equation}", display: true },
          { left: "\\begin{equation*}", right: "\\end{equation*}", display: true },
          { left: "\\begin{align}", right: "\\end{align}", display: true },
          { left: "\\begin{align*}", right: "\\end{align*}", display: true },
          { left: "\\begin{gather}", right: "\\end{gather}", display: true },
          { left: "\\begin{gather*}", right: "\\end{gather*}", display: true },
        ],
        throwOnError: false,
        ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "a"],
      });
      el.dataset.texDone = "1";
    });
  }

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll(".paper-card"));
  }

  function current() {
    return document.querySelector(".paper-card.is-current");
  }

  function focusCard(card) {
    var previous = current();
    if (previous) previous.classList.remove("is-current");
    card.classList.add("is-current");
    var title = card.querySelector(".paper-card__title a");
    (title || card).focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var list = cards();
    if (!list.length) return;
    var card = current() || (target && target.closest && target.closest(".paper-card"));
    var index = card ? list.indexOf(card) : -1;
    if (event.key === "j") {
      focusCard(list[Math.min(index + 1, list.length - 1)]);
    } else if (event.key === "k") {
      focusCard(list[Math.max(index - 1, 0)]);
    } else if (event.key === "s" && card) {
      var save = card.querySelector(".save-button");
      if (save) save.click();
    } else if (event.key === "o" && card) {
      var link = card.querySelector(".paper-card__title a");
      if (link) window.location.href = link.href;
    } else {
      return;
    }
    event.preventDefault();
  }

  // A slider shows its value in the <output data-range-output="id"> beside it.
  function onRangeInput(event) {
    var input = event.target;
    if (!input.matches || !input.matches('input[type="range"]')) return;
    var output = document.querySelector('output[data-range-output="' + input.id + '"]');
    if (output) output.textContent = input.value;
  }

  // A link to a folded section (#updated) opens it: the anchor alone would land on its summary.
  function openTarget() {
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.tagName === "DETAILS") target.open = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document);
    openTarget();
    window.addEventListener("hashchange", openTarget);
    document.addEventListener("input", onRangeInput);
    document.addEventListener("keydown", onKey);
    document.body.addEventListener("htmx:afterSwap", function (event) {
      renderMath(event.target);
    });
  });
})();
