/* Parley comment counts for a blog's index page:
   <script src="https://HOST/counts.js" data-site="SITE" async></script>
   fills every <span data-parley-count="KEY"> with the number of comments of
   that page, and every <a href="URL#comments" data-parley-count> (keyed by
   the link's URL) with "N comments", in one request (a few for a very long
   page), without an iframe. */
(function () {
  "use strict";
  var d = document, me = d.currentScript, re = /\/counts\.js(?:[?#]|$)/;
  if (!me || !re.test(me.src)) {
    me = null;
    for (var s = d.getElementsByTagName("script"), i = s.length - 1; i >= 0; i--) {
      if (re.test(s[i].src)) { me = s[i]; break; }
    }
  }
  if (!me || !window.fetch) return;
  var base = new URL(me.src, location.href).origin + "/api/v1/sites/" +
    encodeURIComponent(me.getAttribute("data-site") || "default") + "/counts?";
  var maxKeys = 100, maxQuery = 6000; // the server's cap, and a URL every server takes

  function keyOf(n) {
    var k = n.getAttribute("data-parley-count");
    if (k) return k;
    if (n.tagName !== "A" || !n.getAttribute("href")) return "";
    try {
      var u = new URL(n.getAttribute("href"), location.href);
      u.hash = "";
      return u.href;
    } catch (e) {
      return "";
    }
  }

  function show(n, count) {
    n.setAttribute("data-parley-count-value", String(count));
    n.textContent = n.tagName === "A" ? count + (count === 1 ? " comment" : " comments") : String(count);
  }

  function ask(keys, nodes) {
    var q = new URLSearchParams();
    for (var i = 0; i < keys.length; i++) q.append("key", keys[i]);
    fetch(base + q.toString(), { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (counts) {
        if (!counts) return;
        for (var i = 0; i < keys.length; i++) {
          var c = counts[keys[i]];
          if (typeof c !== "number") continue;
          for (var j = 0; j < nodes[keys[i]].length; j++) show(nodes[keys[i]][j], c);
        }
      })
      .catch(function () { /* counts are a nicety: leave the page as it is */ });
  }

  function run() {
    var all = d.querySelectorAll("[data-parley-count]"), nodes = {}, keys = [];
    for (var i = 0; i < all.length; i++) {
      var k = keyOf(all[i]);
      if (!k) continue;
      if (!nodes.hasOwnProperty(k)) { nodes[k] = []; keys.push(k); }
      nodes[k].push(all[i]);
    }
    var batch = [], size = 0;
    for (var j = 0; j < keys.length; j++) {
      var cost = encodeURIComponent(keys[j]).length + 5;
      if (batch.length && (batch.length === maxKeys || size + cost > maxQuery)) {
        ask(batch, nodes);
        batch = []; size = 0;
      }
      batch.push(keys[j]);
      size += cost;
    }
    if (batch.length) ask(batch, nodes);
  }

  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", run);
  else run();
})();
