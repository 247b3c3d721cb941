// Parley comment app: runs inside the iframe that widget.js puts on a blog page.
import { areaOf, createClient, plural, sentence as asSentence, storage } from "./client.js";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const params = new URLSearchParams(location.search);
  // The page's thread: its site and key (the old data-article="SLUG" is the
  // default site's key), and for a first comment the page's title and address.
  const legacy = params.has("article"); // an existing article of the default site, by slug
  const slug = (legacy ? params.get("article") : params.get("key")) || "";
  const page = { title: params.get("title") || "", url: params.get("url") || "" };
  const parentOrigin = params.get("parent") || "";
  const threadPath = `/sites/${encodeURIComponent(params.get("site") || "default")}`;
  const paths = legacy
    ? { list: `/articles/${encodeURIComponent(slug)}/comments?`, post: `/articles/${encodeURIComponent(slug)}/comments`, article: `/articles/${encodeURIComponent(slug)}`, live: `/articles/${encodeURIComponent(slug)}/live` }
    : { list: `${threadPath}/comments?key=${encodeURIComponent(slug)}&`, post: `${threadPath}/comments`, article: `${threadPath}/thread?key=${encodeURIComponent(slug)}`, live: `${threadPath}/live?key=${encodeURIComponent(slug)}` };
  const app = $("#app");
  const thread = $("#thread");
  const status = $("#status");
  const comments = new Map(); // id → comment as last received
  const S = {
    me: null,
    cfg: { allow_guests: false, edit_window_minutes: 15, max_body_chars: 10000 },
    locked: false,
    sort: "oldest",
    cursor: null,
    total: 0,
    retry: null,
    loads: 0, // numbers the thread loads, so a slow old answer cannot overwrite a newer one
    posted: new Set(), // ids of new comments shown at the top, out of their place until a page brings them
  };
  // A guest's own comments, kept in this browser: the server cannot tell a
  // guest their held comments on a reload, nor that a comment is theirs.
  const guestKey = "guest." + (params.get("site") || "default") + "." + slug;
  const guestOwn = () => {
    try { return JSON.parse(store.get(guestKey) || "[]"); } catch { return []; }
  };
  const keepGuestOwn = (list) => store.set(guestKey, list.length ? JSON.stringify(list.slice(-50)) : null);

  // Tokens live only in this frame's storage (the blog page cannot read it) and
  // travel only in headers and JSON bodies.
  const store = storage(areaOf("localStorage"), "parley.");
  const client = createClient({
    store,
    onSession: (data) => data.user && setMe(data.user),
    onSignedOut: (note) => signOutLocal(note),
  });
  const { api, saveSession } = client;

  // ---- height: the frame has no scrollbar, so the blog page sizes it to the content.
  let lastHeight = 0;
  function postHeight() {
    const h = Math.ceil(app.getBoundingClientRect().height);
    if (h === lastHeight || window.parent === window || !parentOrigin) return;
    lastHeight = h;
    try {
      window.parent.postMessage({ type: "parley:height", height: h }, parentOrigin);
    } catch {
      // an unusable parent origin: nothing to tell
    }
  }
  new ResizeObserver(postHeight).observe(app);

  // sentence turns "body is too long" into "Your comment is too long."
  const sentence = (s) => asSentence(s && s.replace(/^body\b/, "your comment"));

  // explain turns an API error into words for the person at the keyboard.
  function explain(err, doing = "posting") {
    const msg = sentence(err.message);
    switch (err.code) {
      case "network":
        return "Couldn't reach the comment server. Check your connection and try again.";
      case "rate_limited":
        return err.retryAfter
          ? `You're ${doing} too fast — try again in ${plural(err.retryAfter, "second")}.`
          : `You're ${doing} too fast — try again in a moment.`;
      case "banned":
        return "Your account has been banned from commenting here.";
      case "locked":
        return "Comments are closed.";
      case "validation_failed":
        if (err.fields && err.fields.parent_id) {
          return "This comment can't take replies now: it is awaiting moderation or was removed. Your reply is kept here.";
        }
        return msg || "Please check what you entered.";
      case "invalid_credentials":
        return "That username or email and password don't match.";
      case "unauthorized":
        return "Please sign in again.";
      case "duplicate":
        return msg || "You've already posted that.";
      case "conflict":
        return msg || "That already exists.";
      case "forbidden":
        return msg || "You're not allowed to do that.";
      case "not_found":
        return msg || "It's not there any more.";
      case "payload_too_large":
        return "That's too long.";
      case "edit_window_closed":
        return "The time for editing this comment is over.";
      case "invalid_token":
        return "Your session has expired. Please sign in again.";
      case "unavailable":
        return "The comment server is busy. Please try again in a moment.";
      default:
        return msg && err.code !== "internal" ? msg : "Something went wrong on our side. Please try again.";
    }
  }

  // ---- forms: errors next to the form that caused them, typed text never lost.
  function clearError(form) {
    $(".err", form).textContent = "";
    for (const el of form.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      if (el.dataset.hint !== undefined) {
        if (el.dataset.hint) {
          el.setAttribute("aria-describedby", el.dataset.hint);
          document.getElementById(el.dataset.hint).hidden = false;
        } else el.removeAttribute("aria-describedby");
        delete el.dataset.hint;
      }
    }
    for (const el of form.querySelectorAll(".field-err")) el.remove();
  }

  // showError shows what went wrong once: by the field it is about (the
  // field's hint giving way to it), or under the form when no field is named.
  let noteSeq = 0;
  function showError(form, err, doing) {
    clearError(form);
    const text = typeof err === "string" ? err : explain(err, doing);
    let byField = 0;
    const fields = Object.entries((err && err.fields) || {});
    for (const [name, why] of fields) {
      const input = form.elements.namedItem(name);
      if (!input || !input.closest) continue;
      input.setAttribute("aria-invalid", "true");
      if (name === "body") continue; // the message under the form is about the comment
      const note = document.createElement("small");
      note.className = "field-err";
      note.id = "field-err-" + ++noteSeq;
      note.textContent = sentence(String(why));
      const hint = input.getAttribute("aria-describedby");
      if (hint && document.getElementById(hint)) document.getElementById(hint).hidden = true;
      input.dataset.hint = hint || "";
      input.setAttribute("aria-describedby", note.id);
      input.closest("label").after(note);
      byField++;
    }
    $(".err", form).textContent = byField && byField === fields.length ? "" : text;
    const first = form.querySelector("[aria-invalid]:not(textarea)") || form.querySelector("[aria-invalid]");
    if (byField && first) first.focus();
  }

  async function submitting(form, fn) {
    announce("");
    const buttons = form.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      await fn();
    } finally {
      for (const b of buttons) b.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  // announce tells screen readers; notice also shows the words, under the
  // comment box, until the next thing the reader does.
  function announce(text) {
    status.textContent = text;
    if (!text) $("#notice").hidden = true;
  }
  function notice(text) {
    announce(text);
    const n = $("#notice");
    n.textContent = text;
    n.hidden = !text;
  }

  // ---- who is signed in
  function setMe(user) {
    S.me = user || null;
    store.set("user", user ? JSON.stringify(user) : null);
    const name = user ? user.display_name || user.username : "";
    $("#me-name").textContent = name;
    $(".signed-in").hidden = !user;
    $(".signed-out").hidden = !!user;
    if (user) $("#auth").hidden = true;
    for (const f of document.querySelectorAll("form.compose")) syncGuest(f);
    syncAccount();
  }

  function signOutLocal(note) {
    client.forget();
    setMe(null);
    rerenderAll();
    if (note) announce(note);
  }

  const isMod = () => !!S.me && (S.me.role === "moderator" || S.me.role === "admin");
  const mine = (c) => !!S.me && !!c.author && c.author.id === S.me.id;
  // own: written here, by the account or as a guest in this browser.
  const own = (c) => mine(c) || (!c.author?.id && guestOwn().some((g) => g.id === c.id));

  function openAuth(which, note) {
    const panel = $("#auth");
    panel.hidden = false;
    $("#signin").hidden = which !== "signin";
    $("#signup").hidden = which !== "signup";
    $("#mailed").hidden = which !== "mailed";
    const n = $("#auth-note");
    n.hidden = !note;
    n.textContent = note || "";
    $(`#${which} input`).focus();
  }

  for (const b of document.querySelectorAll("[data-open]")) {
    b.addEventListener("click", () => openAuth(b.dataset.open));
  }
  for (const f of [$("#signin"), $("#signup"), $("#mailed")]) {
    $("[data-close]", f).addEventListener("click", () => { $("#auth").hidden = true; });
  }

  // precheck finds, before anything is sent, what the server would refuse
  // in a sign-up: one problem per field, shown by that field.
  function precheck(form, body) {
    if (form.id !== "signup") return null;
    const fields = {};
    if (!/^[A-Za-z0-9_.-]{3,32}$/.test(body.username || "")) fields.username = "3–32 letters, digits, “_”, “-” or “.”";
    if ((body.password || "").length < 8) fields.password = "use at least 8 characters";
    return Object.keys(fields).length ? { fields } : null;
  }

  function authSubmit(form, path, fields) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearError(form);
      const body = {};
      for (const k of fields) {
        const v = form.elements[k].value;
        if (v.trim() !== "" || k === "password") body[k] = k === "password" ? v : v.trim();
      }
      const wrong = precheck(form, body);
      if (wrong) {
        showError(form, wrong);
        return;
      }
      submitting(form, async () => {
        try {
          saveSession(await api("POST", path, body));
          form.reset();
          announce(`Signed in as ${S.me.display_name || S.me.username}.`);
          await load(true);
          const box = $("#compose-slot textarea");
          if (box) box.focus();
        } catch (err) {
          showError(form, err, "trying");
        }
      });
    });
  }
  authSubmit($("#signin"), "/auth/login", ["login", "password"]);
  authSubmit($("#signup"), "/auth/register", ["username", "password", "email", "display_name"]);

  // ---- mail: forgotten password and sign-in links
  let mailedMode = "reset";
  for (const b of document.querySelectorAll("[data-mode]")) {
    b.addEventListener("click", () => {
      mailedMode = b.dataset.mode;
      $("#mailed-title").textContent = mailedMode === "magic" ? "Sign in by email" : "Forgot your password?";
    });
  }
  $("#mailed").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = $("#mailed");
    clearError(form);
    submitting(form, async () => {
      try {
        const path = mailedMode === "magic" ? "/auth/magic-link" : "/auth/password-reset";
        await api("POST", path, { email: form.elements.email.value.trim() }, false);
        form.reset();
        $("#auth").hidden = true;
        announce("If an account has this address, a link is on its way. Open it from your mail.");
      } catch (err) {
        showError(form, err, "sending the link");
      }
    });
  });

  // ---- sign-in providers, in a popup: the popup tells this frame (same
  // origin) when the provider is done, and the login is collected here with
  // a secret that never left the frame.
  function showProviders(list) {
    const box = $("#providers");
    box.replaceChildren();
    for (const p of list || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "provider";
      b.dataset.provider = p.id;
      b.textContent = `Sign in with ${p.name}`;
      b.addEventListener("click", () => providerSignIn(p));
      box.append(b);
    }
    box.hidden = !box.children.length;
  }

  async function providerSignIn(p) {
    const form = $("#signin");
    clearError(form);
    // Opened now, inside the click, or popup blockers step in.
    const popup = window.open("about:blank", "parley-signin", "popup,width=520,height=680");
    let flow;
    try {
      flow = await api("POST", `/auth/providers/${encodeURIComponent(p.id)}/flows`, undefined, false);
    } catch (err) {
      if (popup) popup.close();
      showError(form, err, "starting the sign-in");
      return;
    }
    if (!popup) {
      showError(form, new Error("allow pop-ups for this site to sign in with " + p.name), "signing in");
      return;
    }
    popup.location.href = flow.authorize_url;
    const done = await new Promise((resolve) => {
      const onMessage = (ev) => {
        if (ev.origin !== location.origin || ev.source !== popup || !ev.data || ev.data.type !== "parley:provider-done") return;
        finish(ev.data);
      };
      // If the popup lands on another origin of this server (a differing
      // public URL), no message comes: its closing is the signal then.
      const timer = setInterval(() => { if (popup.closed) finish({ ok: true, closed: true }); }, 500);
      function finish(data) {
        clearInterval(timer);
        window.removeEventListener("message", onMessage);
        resolve(data);
      }
      window.addEventListener("message", onMessage);
    });
    try {
      saveSession(await api("POST", "/auth/providers/complete", { flow_secret: flow.flow_secret }, false));
      $("#auth").hidden = true;
      announce(`Signed in as ${S.me.display_name || S.me.username}.`);
      await load(true);
    } catch (err) {
      if (!done.closed || err.status !== 409) showError(form, err, "signing in");
    }
  }

  // ---- the account panel
  function syncAccount() {
    const u = S.me;
    $("#verify-note").hidden = !(u && u.email && u.email_verified === false && S.cfg.email_verification);
    if (!u) { $("#account-panel").hidden = true; return; }
    $("#profile").elements.display_name.value = u.display_name || "";
    $("#email-change").elements.email.value = u.email || "";
    $("#email-state").textContent = u.email ? (u.email_verified ? "(confirmed)" : "(not confirmed yet)") : "";
    $("#email-change").hidden = !S.cfg.email_verification;
  }
  $("#open-account").addEventListener("click", () => {
    syncAccount();
    $("#account-panel").hidden = !$("#account-panel").hidden;
  });
  $("[data-close-account]").addEventListener("click", () => { $("#account-panel").hidden = true; });
  $("#resend").addEventListener("click", async () => {
    try {
      await api("POST", "/auth/email-verification");
      announce("A new confirmation link is on its way.");
    } catch (err) {
      announce(explain(err, "sending the link"));
    }
  });
  $("#profile").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = $("#profile");
    clearError(form);
    submitting(form, async () => {
      try {
        const data = await api("PATCH", "/me", { display_name: form.elements.display_name.value });
        setMe(data.user);
        announce("Your display name is saved.");
      } catch (err) {
        showError(form, err, "saving");
      }
    });
  });
  $("#email-change").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = $("#email-change");
    clearError(form);
    submitting(form, async () => {
      try {
        await api("PUT", "/me/email", { email: form.elements.email.value.trim() });
        announce("Open the link we sent to the new address to confirm it.");
      } catch (err) {
        showError(form, err, "changing the address");
      }
    });
  });
  $("#export").addEventListener("click", async () => {
    try {
      const data = await api("GET", "/me/export");
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `parley-${S.me.username}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      announce(explain(err, "exporting"));
    }
  });
  $("#delete-account").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = $("#delete-account");
    clearError(form);
    if (!window.confirm("Delete your account for good?")) return;
    submitting(form, async () => {
      try {
        await api("DELETE", "/me", { comments: form.elements.comments.value });
        signOutLocal("Your account is deleted.");
        load(true);
      } catch (err) {
        showError(form, err, "deleting the account");
      }
    });
  });

  $("#signout").addEventListener("click", async () => {
    client.signOut();
    signOutLocal("You're signed out.");
    load(true);
  });

  // ---- time
  const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  const units = [["year", 31536e6], ["month", 2592e6], ["week", 6048e5], ["day", 864e5], ["hour", 36e5], ["minute", 6e4]];
  function ago(iso) {
    const diff = Math.min(0, Date.parse(iso) - Date.now()); // a clock ahead of ours is "just now"
    for (const [unit, ms] of units) {
      if (-diff >= ms) return rtf.format(Math.trunc(diff / ms), unit);
    }
    return "just now";
  }
  const exact = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" });
  setInterval(() => {
    for (const t of thread.querySelectorAll("time.c-time")) t.textContent = ago(t.dateTime);
  }, 60000);

  // ---- rendering
  const tpl = (id) => $(id).content.firstElementChild.cloneNode(true);
  const countAll = (list) => list.reduce((n, c) => n + 1 + countAll(c.replies || []), 0);

  function renderComment(c, depth) {
    const li = tpl("#t-comment");
    li.dataset.depth = String(Math.min(depth, 6));
    fill(li, c);
    const list = $(".replies", li);
    for (const r of c.replies || []) list.append(renderComment(r, depth + 1));
    li.querySelector(":scope > .c-more").hidden = !c.replies_cursor;
    return li;
  }

  // moreReplies loads the next replies of a top-level comment (a page
  // carries its first ones and a cursor) and puts each below its parent.
  async function moreReplies(li, c, b) {
    if (!c.replies_cursor || b.disabled) return;
    b.disabled = true;
    try {
      const data = await api("GET", `/comments/${c.id}/replies?limit=50&cursor=${encodeURIComponent(c.replies_cursor)}`);
      let added = 0;
      for (const r of data.items || []) {
        const parent = r.parent_id === c.id ? li : thread.querySelector(`#c-${r.parent_id}`);
        if (!parent || comments.has(r.id)) continue;
        const pc = comments.get(r.parent_id);
        if (pc) (pc.replies ||= []).push(r);
        $(".replies", parent).append(renderComment({ ...r, replies: [] }, Number(parent.dataset.depth) + 1));
        added++;
      }
      c.replies_cursor = data.next_cursor || null;
      b.hidden = !c.replies_cursor;
      syncToggle(li);
      announce(`${plural(added, "more reply", "more replies")} shown.`);
    } catch {
      announce("Could not load more replies. Try again.");
    } finally {
      b.disabled = false;
    }
  }

  // STAFF names the badge of each staff role.
  const STAFF = { admin: "Admin", moderator: "Moderator" };

  // fill (re)writes one comment's own parts from data; its replies stay as they are.
  function fill(li, c) {
    comments.set(c.id, c);
    li.id = "c-" + c.id;
    li.dataset.id = String(c.id);
    li.classList.toggle("deleted", !!c.deleted);
    li.classList.toggle("mine", mine(c));
    const a = c.author || {};
    $(".c-author", li).textContent = c.deleted ? "deleted" : a.display_name || a.username || a.guest_name || "anonymous";
    $(".c-guest", li).hidden = c.deleted || !a.guest_name;
    // The staff badge comes from the author's role, which only the server
    // sets: no display name can make one. A display name that is not the
    // username gets the username beside it, so names cannot be borrowed.
    const staff = $(".c-staff", li);
    staff.hidden = c.deleted || !STAFF[a.role];
    staff.textContent = staff.hidden ? "" : STAFF[a.role];
    const user = $(".c-user", li);
    user.hidden = c.deleted || !a.username || !a.display_name || a.display_name.toLowerCase() === a.username.toLowerCase();
    user.textContent = user.hidden ? "" : "@" + a.username;
    const link = $(".c-link", li);
    link.href = permalink(c.id);
    const t = $(".c-time", li);
    t.dateTime = c.created_at;
    t.title = exact(c.created_at);
    t.textContent = ago(c.created_at);
    const ed = $(".c-edited", li);
    ed.hidden = !c.edited_at || c.deleted;
    if (c.edited_at) ed.title = "Edited " + exact(c.edited_at);
    $(".c-pending", li).hidden = c.status !== "pending";
    const text = $(".c-text", li);
    if (c.deleted) {
      text.textContent = "This comment was deleted.";
    } else {
      text.innerHTML = c.body_html || ""; // sanitized by the server; the only HTML we insert
      for (const link of text.querySelectorAll("a")) {
        // a second line of defence, and links must leave the frame, not replace it
        if (!/^(https?:|mailto:)/i.test(link.getAttribute("href") || "")) link.removeAttribute("href");
        link.target = "_blank";
        link.rel = "nofollow ugc noopener noreferrer";
      }
    }
    $(".vote", li).hidden = c.deleted;
    // One's own comment takes no votes (the server refuses them): its score shows, the arrows do not.
    for (const b of li.querySelectorAll(":scope > .c-box .up, :scope > .c-box .down")) b.hidden = own(c);
    $(".score", li).textContent = String(c.score || 0);
    $(".up", li).setAttribute("aria-pressed", String(c.my_vote === 1));
    $(".down", li).setAttribute("aria-pressed", String(c.my_vote === -1));
    const act = (name) => $(`[data-act="${name}"]`, li);
    act("reply").hidden = c.deleted || S.locked || c.status === "pending";
    const windowOpen = Date.parse(c.created_at) + S.cfg.edit_window_minutes * 6e4 > Date.now();
    act("edit").hidden = c.deleted || !((mine(c) && windowOpen) || isMod());
    act("delete").hidden = c.deleted || !(mine(c) || isMod());
    act("flag").hidden = c.deleted || own(c) || li.classList.contains("flagged");
    syncToggle(li);
  }

  function syncToggle(li) {
    const c = comments.get(Number(li.dataset.id));
    const n = countAll(c.replies || []);
    const b = $('[data-act="toggle"]', li);
    const open = !li.classList.contains("collapsed");
    b.hidden = n === 0;
    b.setAttribute("aria-expanded", String(open));
    b.textContent = `${open ? "Hide" : "Show"} ${plural(n, "reply", "replies")}`;
  }

  function rerenderAll() {
    for (const li of thread.querySelectorAll("li.c")) fill(li, comments.get(Number(li.dataset.id)));
    syncCompose();
  }

  function showCount() {
    $("#count").textContent = plural(S.total, "comment");
    $("#empty").hidden = thread.children.length > 0;
  }

  // ---- permalinks: PAGE#parley-comment-ID opens the blog page at that comment
  function permalink(id) {
    const base = page.url || (parentOrigin ? parentOrigin + "/" : "");
    if (!/^https?:/i.test(base)) return "#parley-comment-" + id;
    return base.replace(/#.*$/, "") + "#parley-comment-" + id;
  }

  // show loads pages until the comment is on one (the thread holds it past
  // "load more"), then highlights it and asks the blog page to scroll to it.
  const maxPermalinkPages = 100;
  async function show(id) {
    if (!id) return;
    if (!document.getElementById("c-" + id)) {
      // Not on the first page: walk on only if the reader may see it at all.
      try { await api("GET", `/comments/${id}`); } catch { return; }
    }
    for (let i = 0; !document.getElementById("c-" + id) && S.cursor && i < maxPermalinkPages; i++) {
      const before = S.loads;
      await load(false);
      if (S.loads !== before + 1) return; // another load started: the reader moved on
    }
    const li = document.getElementById("c-" + id);
    if (!li) return;
    for (const old of thread.querySelectorAll("li.c.target")) old.classList.remove("target");
    for (let p = li.parentElement && li.parentElement.closest("li.c"); p; p = p.parentElement && p.parentElement.closest("li.c")) {
      if (p.classList.contains("collapsed")) {
        p.classList.remove("collapsed");
        syncToggle(p);
      }
    }
    li.classList.add("target");
    const top = Math.round(li.getBoundingClientRect().top + window.scrollY);
    if (window.parent !== window && parentOrigin) {
      try { window.parent.postMessage({ type: "parley:scroll", top }, parentOrigin); } catch { /* no usable parent */ }
    } else {
      li.scrollIntoView({ block: "center" });
    }
  }
  addEventListener("message", (e) => {
    const m = e.data;
    if (e.origin !== parentOrigin || e.source !== window.parent || !m || m.type !== "parley:show") return;
    show(Number(m.comment) || 0);
  });

  // ---- loading the thread
  async function load(reset) {
    const q = new URLSearchParams({ sort: S.sort, limit: "50" });
    if (!reset && S.cursor) q.set("cursor", S.cursor);
    const more = $("#more");
    const seq = ++S.loads;
    more.disabled = true;
    app.setAttribute("aria-busy", "true");
    try {
      const data = await api("GET", paths.list + q);
      if (seq !== S.loads) return;
      if (reset) {
        thread.replaceChildren();
        comments.clear();
      }
      if (reset) S.posted.clear();
      for (const c of data.items || []) {
        const shown = document.getElementById("c-" + c.id);
        if (!shown) thread.append(renderComment(c, 0));
        else if (S.posted.delete(c.id)) thread.append(shown); // its place has come
      }
      if (reset) restoreGuestOwn(data.items || []);
      S.cursor = data.next_cursor || null;
      S.total = data.total ?? countAll(data.items || []);
      if (S.locked !== !!data.comments_locked) {
        S.locked = !!data.comments_locked;
        rerenderAll();
      }
      $("#loaderr").hidden = true;
      more.hidden = !S.cursor;
      showCount();
    } catch (err) {
      if (seq !== S.loads) return;
      S.retry = () => load(reset);
      const box = $("#loaderr");
      const gone = err.code === "not_found";
      $("p", box).textContent = gone ? "Comments for this article could not be found." : `Couldn't load the comments. ${explain(err, "reading")}`;
      $("#retry").hidden = gone;
      box.hidden = false;
      $("#empty").hidden = true;
    } finally {
      more.disabled = false;
      app.removeAttribute("aria-busy");
    }
  }

  // restoreGuestOwn shows a guest's own held comments, which the server
  // shows only to moderators, and forgets those it now shows to everyone.
  function restoreGuestOwn(items) {
    if (S.me) return;
    const kept = guestOwn().filter((g) => g.status === "pending" && Date.parse(g.created_at) > Date.now() - 30 * 864e5);
    const still = [];
    for (const g of kept) {
      if (items.some((c) => c.id === g.id) || document.getElementById("c-" + g.id)) continue;
      still.push(g);
      const parent = g.parent_id && document.getElementById("c-" + g.parent_id);
      if (g.parent_id && !parent) continue; // its thread is not on this page
      const li = renderComment(g, parent ? Number(parent.dataset.depth) + 1 : 0);
      if (parent) $(".replies", parent).append(li);
      else placeTop(li);
    }
    keepGuestOwn([...still, ...guestOwn().filter((g) => g.status !== "pending")]);
  }

  $("#retry").addEventListener("click", () => S.retry && S.retry());
  $("#more").addEventListener("click", () => load(false));
  const sortBox = $("#sort");
  sortBox.value = ["oldest", "newest", "top"].includes(store.get("sort")) ? store.get("sort") : "oldest";
  S.sort = sortBox.value;
  sortBox.addEventListener("change", () => {
    S.sort = sortBox.value;
    store.set("sort", S.sort);
    load(true);
  });

  // ---- writing
  function syncGuest(form) {
    const guest = $(".guest", form);
    if (guest) guest.hidden = !!S.me || !S.cfg.allow_guests || form.classList.contains("edit");
  }

  function syncCompose() {
    $("#compose-slot").hidden = S.locked;
    $("#closed").hidden = !S.locked;
  }

  function needAccount(why) {
    if (S.me) return false;
    openAuth("signin", why);
    return true;
  }

  // composer builds a comment form; onDone gets the created (or edited) comment.
  function composer({ label, submit, parentId, edit, onDone, onCancel }) {
    const form = tpl("#t-compose");
    $(".body span", form).textContent = label;
    $("[type=submit]", form).textContent = submit;
    if (edit) form.classList.add("edit");
    const cancel = $("[data-close]", form);
    if (onCancel) {
      cancel.hidden = false;
      cancel.addEventListener("click", onCancel);
    }
    syncGuest(form);
    if (!edit) {
      form.elements.guest_name.value = store.get("guest_name") || "";
      form.elements.guest_email.value = store.get("guest_email") || "";
    }
    const box = form.elements.body;
    box.addEventListener("input", () => clearError(form));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearError(form);
      const text = box.value;
      const guest = !S.me && S.cfg.allow_guests && !edit;
      if (!guest && needAccount("Sign in or create an account to post. What you wrote is kept.")) return;
      const body = { body: text };
      if (parentId) body.parent_id = parentId;
      if (guest) {
        body.guest_name = form.elements.guest_name.value.trim();
        const mail = form.elements.guest_email.value.trim();
        if (mail) body.guest_email = mail;
        if (!body.guest_name) {
          showError(form, { fields: { guest_name: "please enter your name" } });
          return;
        }
      }
      submitting(form, async () => {
        try {
          const res = edit
            ? await api("PATCH", `/comments/${edit.id}`, { body: text })
            : await api("POST", paths.post, legacy ? body : { key: slug, title: page.title, url: page.url, ...body });
          const c = res.comment || res;
          if (!edit) box.value = ""; // only now is the text safe on the server
          if (guest) {
            // The name carries into the next comment and reply; the comment
            // stays the guest's own (no Flag, no votes), held ones across reloads.
            store.set("guest_name", body.guest_name);
            store.set("guest_email", body.guest_email || null);
            keepGuestOwn([...guestOwn(), { ...c, replies: [] }]);
          }
          onDone(c);
        } catch (err) {
          if (err.code === "locked") {
            S.locked = true;
            rerenderAll();
            $("#compose-slot").hidden = false; // keep the text visible with its error
          }
          showError(form, err);
        }
      });
    });
    return form;
  }

  // added shows a new comment where the reader can see it: scrolled to,
  // highlighted, focused (so the keyboard carries on from it), with a notice
  // under the comment box.
  function added(c, li) {
    seen(c.id);
    follow();
    if (c.status === "pending") notice("Thanks! Your comment is awaiting moderation. Only you can see it until a moderator approves it.");
    else {
      S.total++;
      notice("Your comment is posted.");
    }
    showCount();
    reveal(li);
  }

  function reveal(li) {
    li.classList.add("new");
    const box = $(".c-box", li);
    box.tabIndex = -1;
    box.focus({ preventScroll: true });
    box.scrollIntoView({ block: "nearest" });
  }

  // placeTop puts a new top-level comment where it belongs when the loaded
  // pages show its place (the end of the oldest-first list, the start of the
  // newest-first one), else at the top, noted in S.posted until "Load more"
  // or a reload reaches its place.
  function placeTop(li) {
    if (S.sort === "newest") thread.prepend(li);
    else if (S.sort === "oldest" && !S.cursor) thread.append(li);
    else {
      thread.prepend(li);
      S.posted.add(Number(li.dataset.id));
    }
  }

  function mountCompose() {
    const form = composer({
      label: "Join the discussion",
      submit: "Post comment",
      onDone: (c) => {
        const li = renderComment({ ...c, replies: c.replies || [] }, 0);
        placeTop(li);
        added(c, li);
      },
    });
    $("#compose-slot").replaceChildren(form);
  }

  // slotForm shows one inline form of a kind under a comment; a second click hides it
  // (hidden, not removed, so nothing typed is lost).
  function slotForm(li, kind, make) {
    const slot = $(".c-slot", li);
    let form = $(`form[data-kind="${kind}"]`, slot);
    if (form) {
      form.hidden = !form.hidden;
    } else {
      form = make(() => { form.hidden = true; });
      form.dataset.kind = kind;
      slot.append(form);
    }
    if (!form.hidden) {
      const first = form.querySelector("textarea, input");
      if (first) first.focus();
    }
  }

  function replyTo(li, c) {
    if (!S.cfg.allow_guests && needAccount("Sign in or create an account to reply.")) return;
    slotForm(li, "reply", (close) =>
      composer({
        label: `Reply to ${$(".c-author", li).textContent}`,
        submit: "Post reply",
        parentId: c.id,
        onCancel: close,
        onDone: (r) => {
          close();
          const now = comments.get(c.id) || c;
          now.replies = [...(now.replies || []), r];
          const child = renderComment({ ...r, replies: r.replies || [] }, Number(li.dataset.depth) + 1);
          li.classList.remove("collapsed");
          $(".replies", li).append(child);
          syncToggle(li);
          added(r, child);
        },
      }),
    );
  }

  function editOf(li, c) {
    slotForm(li, "edit", (close) => {
      const form = composer({
        label: "Edit your comment",
        submit: "Save changes",
        edit: c,
        onCancel: close,
        onDone: (updated) => {
          close();
          form.remove();
          const now = comments.get(c.id) || c;
          fill(li, { ...now, ...updated, replies: now.replies });
          announce("Your changes are saved.");
        },
      });
      form.elements.body.value = c.body ?? $(".c-text", li).textContent.trim();
      return form;
    });
  }

  function deleteOf(li, c) {
    slotForm(li, "delete", (close) => {
      const form = tpl("#t-delete");
      $("[data-close]", form).addEventListener("click", close);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        submitting(form, async () => {
          try {
            await api("DELETE", `/comments/${c.id}`);
          } catch (err) {
            showError(form, err, "deleting");
            return;
          }
          S.total = Math.max(0, S.total - 1);
          const now = comments.get(c.id) || c;
          if ((now.replies || []).length) {
            form.remove();
            fill(li, { ...now, deleted: true, body_html: "", author: null });
          } else {
            const parent = li.parentElement.closest("li.c");
            li.remove();
            comments.delete(c.id);
            if (parent) {
              const p = comments.get(Number(parent.dataset.id));
              p.replies = (p.replies || []).filter((r) => r.id !== c.id);
              syncToggle(parent);
            }
          }
          showCount();
          announce("The comment is deleted.");
        });
      });
      return form;
    });
  }

  function flagOf(li, c) {
    if (needAccount("Sign in to report a comment.")) return;
    slotForm(li, "flag", (close) => {
      const form = tpl("#t-flag");
      $("[data-close]", form).addEventListener("click", close);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        clearError(form);
        const reason = form.elements.reason.value;
        if (!reason) {
          showError(form, "Please pick a reason.");
          return;
        }
        const body = { reason };
        const note = form.elements.note.value.trim();
        if (note) body.note = note;
        submitting(form, async () => {
          let thanks = "Thanks for the report. A moderator will take a look.";
          try {
            await api("POST", `/comments/${c.id}/flags`, body);
          } catch (err) {
            if (err.status !== 409) {
              showError(form, err, "reporting");
              return;
            }
            thanks = "You've already reported this comment. A moderator will take a look.";
          }
          form.remove();
          li.classList.add("flagged");
          fill(li, comments.get(c.id) || c);
          const done = document.createElement("p");
          done.className = "note";
          done.textContent = thanks;
          $(".c-slot", li).append(done);
          announce(done.textContent);
        });
      });
      return form;
    });
  }

  async function vote(li, c, value) {
    if (needAccount("Sign in to vote.")) return;
    const next = c.my_vote === value ? 0 : value;
    const slot = $(".c-slot", li);
    try {
      const res = await api("PUT", `/comments/${c.id}/vote`, { value: next });
      c.score = res.score;
      c.my_vote = res.my_vote;
      fill(li, c);
      const old = $(".vote-err", slot);
      if (old) old.remove();
    } catch (err) {
      let p = $(".vote-err", slot);
      if (!p) {
        p = document.createElement("p");
        p.className = "err vote-err";
        p.setAttribute("role", "alert");
        slot.prepend(p);
      }
      p.textContent = explain(err, "voting");
    }
  }

  thread.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const li = b.closest("li.c");
    const c = comments.get(Number(li.dataset.id));
    if (!c) return;
    switch (b.dataset.act) {
      case "up": return vote(li, c, 1);
      case "down": return vote(li, c, -1);
      case "reply": return replyTo(li, c);
      case "more": return moreReplies(li, c, b);
      case "edit": return editOf(li, c);
      case "delete": return deleteOf(li, c);
      case "flag": return flagOf(li, c);
      case "toggle":
        li.classList.toggle("collapsed");
        return syncToggle(li);
    }
  });

  // ---- live updates: new comments wait behind a bar ("3 new comments — show")
  // so the thread never jumps under the reader; edits, scores and deletions of
  // comments on screen apply in place. EventSource reconnects by itself and
  // sends Last-Event-ID, so nothing is missed across a dropped connection.
  const fresh = new Set();
  const liveBar = $("#live");
  function showFresh() {
    liveBar.hidden = fresh.size === 0;
    liveBar.textContent = `${plural(fresh.size, "new comment")} — show`;
    postHeight();
  }
  function seen(id) {
    if (fresh.delete(id)) showFresh();
  }
  liveBar.addEventListener("click", () => {
    fresh.clear();
    showFresh();
    load(true);
  });
  async function refetch(id) {
    const li = document.getElementById("c-" + id);
    const old = comments.get(id);
    if (!li || !old) return;
    let c;
    try {
      const data = await api("GET", `/comments/${id}`);
      c = data.comment || data;
    } catch {
      c = { ...old, deleted: true }; // gone or hidden: shown as a tombstone until the next load
    }
    fill(li, { ...old, ...c, my_vote: old.my_vote, replies: old.replies });
  }
  let stream = null;
  function follow() {
    if (!window.EventSource || stream) return;
    const es = new EventSource("/api/v1" + paths.live);
    stream = es;
    // A page's thread may not exist until its first comment: follow() runs
    // again after posting. Other failures are retried by EventSource itself.
    es.addEventListener("error", () => {
      if (es.readyState === EventSource.CLOSED) stream = null;
    });
    const on = (name, fn) => es.addEventListener(name, (e) => {
      let d = {};
      try { d = JSON.parse(e.data); } catch { return; }
      fn(d);
    });
    on("comment", (d) => {
      if (document.getElementById("c-" + d.comment_id)) return;
      fresh.add(d.comment_id);
      showFresh();
    });
    on("score", (d) => {
      const li = document.getElementById("c-" + d.comment_id);
      const c = comments.get(d.comment_id);
      if (li && c) fill(li, { ...c, score: d.score });
    });
    on("edit", (d) => refetch(d.comment_id));
    on("remove", (d) => {
      seen(d.comment_id);
      refetch(d.comment_id);
    });
    on("reset", () => {
      fresh.clear();
      showFresh();
      load(true);
    });
  }

  // ---- start
  async function start() {
    if (!slug) {
      $("#loaderr p").textContent = "This comment box is missing its article.";
      $("#loaderr").hidden = false;
      $("#retry").hidden = true;
      return;
    }
    try { S.me = JSON.parse(store.get("user") || "null"); } catch { S.me = null; }
    const quiet = (p) => p.catch(() => null);
    // Whether comments are closed comes with the thread (load), not from
    // the article, whose body can be long.
    const [cfg, who] = await Promise.all([
      quiet(api("GET", legacy ? "/config" : "/config?site=" + encodeURIComponent(params.get("site") || "default"))),
      store.get("access") || store.get("refresh") ? quiet(api("GET", "/me")) : null,
    ]);
    if (cfg) Object.assign(S.cfg, cfg);
    showProviders(S.cfg.providers);
    $(".mail-only").hidden = !S.cfg.password_reset;
    $(".magic-only").hidden = !S.cfg.magic_links;
    setMe(who ? who.user || who : store.get("access") ? S.me : null);
    mountCompose();
    syncCompose();
    follow(); // before the first load, so nothing posted in between is missed
    await load(true);
    await show(Number(params.get("comment")) || 0);
  }
  start();
})();
