// The case page after a form: the keyboard focus on what the form's card says (done, or why it
// was refused), so the message is read out and in view. `autofocus` does this on its own, but a
// browser skips it when the address has a fragment (#card: a redirect keeps the form's, and
// the page falls back to one without a session), and then moves the focus to the fragment's
// target after the load event; so this script focuses the message once that is done.
(function () {
  "use strict";
  function land() {
    var message = document.querySelector("main [autofocus]");
    var free = !document.activeElement || document.activeElement === document.body;
    if (message && free) { message.focus(); }
  }
  window.addEventListener("load", function () { setTimeout(land, 0); });
})();
