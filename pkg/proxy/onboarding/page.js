"use strict";
// Progressive enhancement: without script the command is still there to select by hand.
(function () {
  var body = document.body;
  body.setAttribute("data-script", "ran");
  body.setAttribute("data-style", getComputedStyle(body).getPropertyValue("--aksoidc-style").trim());
  var button = document.getElementById("copy");
  var command = document.getElementById("setup-command");
  if (!button || !command) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = command.textContent;
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { select(command); });
    } else {
      select(command);
    }
  });
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Press Ctrl+C";
  }
})();
