/* Parley comments loader: <div id="parley" data-site="SITE"></div><script src="https://HOST/widget.js" async></script>
   Key: data-article, else the canonical URL, else the location; data-article alone is a
   default-site article. A no-JS fragment gives way; #parley-comment-ID shows it. */
(function () {
  "use strict";
  var d = document, me = d.currentScript, re = /\/widget\.js(?:[?#]|$)/, frames = [], enc = encodeURIComponent;
  if (!me || !re.test(me.src)) {
    me = null;
    for (var s = d.getElementsByTagName("script"), i = s.length - 1; i >= 0; i--) {
      if (re.test(s[i].src)) { me = s[i]; break; }
    }
  }
  if (!me) return;
  var origin = new URL(me.src, location.href).origin;

  function pageURL() {
    var l = d.querySelector('link[rel="canonical"][href]'), u = new URL(location.href);
    try { if (l) u = new URL(l.getAttribute("href"), location.href); } catch (e) {}
    u.hash = "";
    return u.href;
  }
  function wanted() {
    var m = /^#parley-comment-(\d+)$/.exec(location.hash);
    return m ? m[1] : "";
  }

  function mount() {
    var nodes = d.querySelectorAll("#parley,[data-parley-article]");
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i], a = function (k) { return n.getAttribute(k); };
      if (a("data-parley-mounted")) continue;
      var url = a("data-url") || pageURL(), f = d.createElement("iframe"), art = a("data-parley-article") || a("data-article");
      f.src = origin + "/embed?" + (art && !a("data-site") ? "article=" + enc(art) : "site=" + enc(a("data-site") || "default") +
        "&key=" + enc(art || url) + "&title=" + enc((a("data-title") || d.title || "").slice(0, 300))) +
        "&parent=" + enc(location.origin) + "&url=" + enc(url) + (wanted() ? "&comment=" + wanted() : "");
      n.setAttribute("data-parley-mounted", "1");
      for (var o = n.querySelectorAll("[data-parley-fragment]"), j = 0; j < o.length; j++) o[j].remove();
      f.title = "Comments";
      f.loading = wanted() ? "eager" : "lazy";
      f.setAttribute("scrolling", "no");
      f.style.cssText = "display:block;width:100%;height:320px;border:0;margin:0;padding:0;overflow:hidden;background:transparent";
      n.appendChild(f);
      frames.push(f);
    }
  }

  addEventListener("message", function (e) {
    var m = e.data, f;
    for (var i = 0; i < frames.length; i++) if (frames[i].contentWindow === e.source) f = frames[i];
    if (e.origin !== origin || !m || !f) return;
    var v = Math.round(Number(m.height || m.top));
    if (!isFinite(v)) return;
    if (m.type === "parley:height") f.style.height = Math.min(Math.max(v, 60), 100000) + "px";
    if (m.type === "parley:scroll") scrollTo({ top: Math.max(0, scrollY + f.getBoundingClientRect().top + v - 24) });
  });

  addEventListener("hashchange", function () {
    for (var i = 0; wanted() && i < frames.length; i++) {
      frames[i].contentWindow.postMessage({ type: "parley:show", comment: wanted() }, origin);
    }
  });

  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
