// Glue between the book's vendored front-end files. Load order on a page (nb_ipywidgets_js in
// _config.yml): require.js, this file, widgets/embed-amd.js.
(function () {
  var src = document.currentScript && document.currentScript.src;
  if (!src || !window.require || !window.require.config) {
    return;
  }
  var base = src.substring(0, src.lastIndexOf("/") + 1);

  // 1. Point require.js at the widget modules vendored next to this file, so that
  //    @jupyter-widgets/html-manager never falls back to its CDN (the book works offline).
  window.require.config({
    paths: {
      // third-party widget modules (ipyniivue is an anywidget)
      anywidget: base + "anywidget/index",
      // html-manager's public path, used for its icon fonts
      "@jupyter-widgets/html-manager/dist": base + "widgets",
      "@jupyter-widgets/html-manager": base + "widgets/html-manager",
    },
  });

  // 2. The widget manager typesets labels with the MathJax 2 API (MathJax.Hub.Queue); the
  //    book loads MathJax 3, which has no Hub, so every widget label on a page with math threw
  //    "Cannot read properties of undefined (reading 'Queue')". Translate the one call it makes.
  function typeset(element) {
    var mj = window.MathJax;
    if (!mj || !element) return;
    if (mj.typesetPromise) {
      mj.typesetPromise([element]).catch(function () {});
    } else if (mj.startup && mj.startup.promise) {
      mj.startup.promise.then(function () {
        return window.MathJax.typesetPromise([element]);
      }).catch(function () {});
    }
  }
  function addHub() {
    var mj = window.MathJax;
    if (mj && !mj.Hub) {
      mj.Hub = {
        Queue: function () {
          for (var i = 0; i < arguments.length; i++) {
            var cmd = arguments[i];
            if (cmd && cmd[0] === "Typeset") typeset(cmd[2]);
          }
        },
      };
    }
  }
  // MathJax 3 replaces window.MathJax (the page's config object) when it starts, which is
  // before "load"; widgets render on "load", after this listener (registered first).
  addHub();
  document.addEventListener("DOMContentLoaded", addHub);
  window.addEventListener("load", addHub);
})();
