// The radar form's paper picker (templates/radar/_picker.html). "Add", "Follow" and
// "Remove" edit the form's examples and authors fields in place, then fire the input event
// the form's live preview listens for: the preview and the list of picked papers (swapped
// in with it) follow at once. Without this file the same buttons post the whole form and
// the page comes back with the paper added or removed. No inline scripts: the CSP allows
// only files from this site.
(function () {
  "use strict";

  function field(name) {
    return document.getElementById("id_" + name);
  }

  function entries(textarea) {
    return textarea.value
      .split(/[\r\n;]+/)
      .map(function (line) { return line.trim(); })
      .filter(Boolean);
  }

  function changed(textarea) {
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function markAdded(button) {
    if (button.dataset.labelAdded) button.firstChild.textContent = button.dataset.labelAdded;
    button.disabled = true;
  }

  // Append the entries not there yet (compared without case: DOIs are case-insensitive).
  function append(textarea, items) {
    var have = entries(textarea);
    var known = have.map(function (line) { return line.toLowerCase(); });
    items.forEach(function (item) {
      if (item && known.indexOf(item.toLowerCase()) < 0) {
        have.push(item);
        known.push(item.toLowerCase());
      }
    });
    textarea.value = have.join("\n");
    changed(textarea);
  }

  function addPapers(button) {
    var examples = field("examples");
    if (!examples) return false;
    var keys = button.dataset.pickAdd.split(/\s+/).filter(Boolean);
    append(examples, keys);
    document.querySelectorAll("[data-pick-add]").forEach(function (other) {
      var theirs = other.dataset.pickAdd.split(/\s+/);
      if (theirs.every(function (key) { return keys.indexOf(key) >= 0; })) markAdded(other);
    });
    return true;
  }

  function followAuthor(button) {
    var authors = field("authors");
    if (!authors) return false;
    append(authors, [button.dataset.pickAuthor]);
    markAdded(button);
    return true;
  }

  function removePaper(button) {
    var examples = field("examples");
    if (!examples) return false;
    var line = button.dataset.pickRemove;
    var key = button.dataset.pickKey || line;
    examples.value = entries(examples)
      .filter(function (entry) { return entry !== line && entry.toLowerCase() !== key.toLowerCase(); })
      .join("\n");
    changed(examples);
    // The result's "Add" button works again.
    document.querySelectorAll("[data-pick-add]").forEach(function (other) {
      if (other.dataset.pickAdd === key || other.dataset.pickAdd === line) {
        other.disabled = false;
        if (other.dataset.labelAdd) other.firstChild.textContent = other.dataset.labelAdd;
      }
    });
    var item = button.closest("li");
    if (item) item.hidden = true;
    return true;
  }

  function onClick(event) {
    var button = event.target.closest && event.target.closest("[data-pick-add], [data-pick-author], [data-pick-remove]");
    if (!button || button.disabled) return;
    var done;
    if (button.hasAttribute("data-pick-add")) done = addPapers(button);
    else if (button.hasAttribute("data-pick-author")) done = followAuthor(button);
    else done = removePaper(button);
    if (done) event.preventDefault();
  }

  // Pasting several ids or DOIs into the search box adds the papers they name at once.
  var pasted = false;

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("click", onClick);
    var search = document.getElementById("pick-q");
    if (search) {
      search.addEventListener("paste", function () { pasted = true; });
      search.addEventListener("keydown", function (event) {
        if (event.key !== "Enter") pasted = false;
      });
    }
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.target.id !== "pick-results") return;
      var all = event.target.querySelector("[data-pick-auto]");
      if (pasted && all && !all.disabled) addPapers(all);
      pasted = false;
    });
  });
})();
