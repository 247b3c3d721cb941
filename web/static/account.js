// The pages that one-time links from mail open. Nothing happens on load:
// mail scanners fetch links, so signing in, choosing a password or linking
// an identity waits for the reader's click. The token travels in the
// fragment, which never reaches a server log or a Referer.
(function () {
  "use strict";
  const page = location.pathname.replace(/^\/account\//, "");
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  history.replaceState(null, "", location.pathname); // the token leaves the address bar
  const $ = (id) => document.getElementById(id);
  const say = (text, bad) => { $("status").textContent = text; $("status").className = bad ? "error" : ""; };

  async function post(path, body) {
    const res = await fetch("/api/v1" + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new Error((data && data.error && data.error.message) || "request failed (" + res.status + ")");
    return data;
  }

  // keep stores the new login where the comment widget looks for it.
  function keep(session) {
    try { localStorage.setItem("parley.refresh", session.refresh_token); } catch (e) { /* private mode */ }
  }

  function form(id, title, action) {
    $("title").textContent = title;
    if (!token) { say("This link is incomplete. Ask for a new one.", true); return; }
    const f = $(id);
    f.hidden = false;
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      f.querySelector("button").disabled = true;
      try {
        say(await action());
        f.hidden = true;
      } catch (err) {
        say(err.message, true);
        f.querySelector("button").disabled = false;
      }
    });
  }

  if (page === "signin") {
    form("signin", "Sign in", async () => {
      const s = await post("/auth/magic-link/redeem", { token });
      keep(s);
      return "You are signed in as " + s.user.display_name + ". Go back to the article: the comments know you now.";
    });
  } else if (page === "reset") {
    form("reset", "Choose a new password", async () => {
      await post("/auth/password-reset/redeem", { token, new_password: $("new-password").value });
      return "Your password is changed, and every other sign-in has ended. Sign in with the new password.";
    });
  } else if (page === "link") {
    $("link-text").textContent = "Allow this outside account to sign you in to your Parley account from now on?";
    form("link", "Link a sign-in provider", async () => {
      const s = await post("/auth/identities/confirm", { token });
      keep(s);
      return "Linked. You are signed in as " + s.user.display_name + ".";
    });
  }
})();

// The page a sign-in provider sends the popup back to: tell the widget
// that opened it (a frame of this same origin, so the message goes to this
// origin only) and close. The login itself is collected by the widget with
// a secret that never left it.
(function () {
  "use strict";
  const main = document.getElementById("callback");
  if (!main) return;
  const ok = main.dataset.ok === "true";
  const message = document.getElementById("status").textContent;
  if (window.opener) {
    window.opener.postMessage({ type: "parley:provider-done", ok, message }, location.origin);
    if (ok) setTimeout(() => window.close(), 300);
  }
})();
