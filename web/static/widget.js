/* Parley comments loader:
   <div id="parley" data-site="SITE"></div><script src="https://HOST/widget.js" async></script>
   The thread is the page's: its key is data-article, else the canonical URL
   (<link rel="canonical">), else the location; data-title and data-url stand
   in for the page's title and address. data-article="SLUG" alone is the
   default site's article SLUG. Opening the page at #parley-comment-ID shows
   that comment. */
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

  function pageURL() {
    var link = d.querySelector('link[rel="canonical"][href]'), u;
    try { u = new URL(link ? link.getAttribute("href") : location.href, location.href); } catch (e) { u = new URL(location.href); }
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
      var n = nodes[i];
      if (n.getAttribute("data-parley-mounted")) continue;
      var url = n.getAttribute("data-url") || pageURL();
      var key = n.getAttribute("data-parley-article") || n.getAttribute("data-article") || url;
      var title = (n.getAttribute("data-title") || d.title || "").slice(0, 300);
      var q = "site=" + encodeURIComponent(n.getAttribute("data-site") || "default") +
        "&key=" + encodeURIComponent(key) + "&title=" + encodeURIComponent(title) +
        "&url=" + encodeURIComponent(url) + "&parent=" + encodeURIComponent(location.origin);
      if (wanted()) q += "&comment=" + wanted();
      n.setAttribute("data-parley-mounted", "1");
      // A server-rendered fragment (for readers without JavaScript) gives way to the widget.
      var old = n.querySelectorAll("[data-parley-fragment]");
      for (var j = 0; j < old.length; j++) old[j].parentNode.removeChild(old[j]);
      var f = d.createElement("iframe");
      f.src = origin + "/embed?" + q;
      f.title = "Comments";
      f.loading = wanted() ? "eager" : "lazy";
      f.setAttribute("scrolling", "no");
      f.style.cssText = "display:block;width:100%;height:320px;border:0;margin:0;padding:0;overflow:hidden;background:transparent";
      n.appendChild(f);
      frames.push(f);
    }
  }

  function frameOf(source) {
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === source) return frames[i];
    }
    return null;
  }

  addEventListener("message", function (e) {
    var m = e.data, f;
    if (e.origin !== origin || !m || !(f = frameOf(e.source))) return;
    if (m.type === "parley:height") {
      var h = Math.round(Number(m.height));
      if (isFinite(h)) f.style.height = Math.min(Math.max(h, 60), 100000) + "px";
    } else if (m.type === "parley:scroll") {
      var top = Number(m.top);
      if (isFinite(top)) scrollTo({ top: Math.max(0, scrollY + f.getBoundingClientRect().top + top - 24) });
    }
  });

  // A permalink followed on the page itself changes only the fragment.
  addEventListener("hashchange", function () {
    var id = wanted();
    for (var i = 0; id && i < frames.length; i++) {
      frames[i].contentWindow.postMessage({ type: "parley:show", comment: id }, origin);
    }
  });

  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
