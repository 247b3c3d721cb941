/* Parley comments loader: <div id="parley" data-article="SLUG"></div><script src="https://HOST/widget.js" async></script> */
(function () {
  "use strict";
  var d = document, me = d.currentScript, re = /\/widget\.js(?:[?#]|$)/, frames = [];
  if (!me || !re.test(me.src)) {
    me = null;
    for (var s = d.getElementsByTagName("script"), i = s.length - 1; i >= 0; i--) {
      if (re.test(s[i].src)) { me = s[i]; break; }
    }
  }
  if (!me) return;
  var origin = new URL(me.src, location.href).origin;

  function mount() {
    var nodes = d.querySelectorAll("#parley,[data-parley-article]");
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i], slug = n.getAttribute("data-parley-article") || n.getAttribute("data-article");
      if (!slug || n.getAttribute("data-parley-mounted")) continue;
      n.setAttribute("data-parley-mounted", "1");
      var f = d.createElement("iframe");
      f.src = origin + "/embed?article=" + encodeURIComponent(slug) + "&parent=" + encodeURIComponent(location.origin);
      f.title = "Comments";
      f.loading = "lazy";
      f.setAttribute("scrolling", "no");
      f.style.cssText = "display:block;width:100%;height:320px;border:0;margin:0;padding:0;overflow:hidden;background:transparent";
      n.appendChild(f);
      frames.push(f);
    }
  }

  addEventListener("message", function (e) {
    var m = e.data;
    if (e.origin !== origin || !m || m.type !== "parley:height") return;
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === e.source) {
        var h = Math.round(Number(m.height));
        if (isFinite(h)) frames[i].style.height = Math.min(Math.max(h, 60), 100000) + "px";
      }
    }
  });

  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
