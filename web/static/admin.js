// Parley moderation page: the review queue, the audit log and the rules, all through the API.
import { ApiError, areaOf, createClient, plural, sentence, storage } from "./client.js";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
  const status = $("#status");
  const queue = $("#queue");
  const STATES = ["pending", "flagged", "spam", "rejected"];
  const S = {
    me: null,
    view: "pending",
    article: "",
    site: "",
    sort: "oldest",
    cursor: null,
    logCursor: null,
    seq: 0, // the latest queue request: answers to older ones are dropped
    logSeq: 0,
    items: new Map(), // comment id → queue item
    articles: new Map(), // slug → article, for titles and links
    rules: null,
    retry: {}, // what each "Try again" button repeats
  };

  // Words for the API's machine names.
  const HOLDS = {
    too_many_links: "too many links",
    blocked_word: "blocked word",
    new_account: "new account",
    guest: "guest",
    duplicate: "duplicate",
    pre_moderation: "pre-moderation",
    flagged: "flagged",
    shadow_ban: "shadow ban",
    banned_address: "address of a banned user",
  };
  const STATUS = { pending: "Pending", approved: "Published", rejected: "Rejected", spam: "Spam", deleted: "Deleted" };
  const DONE = { approve: "approved", reject: "rejected", spam: "marked as spam", restore: "restored" };
  const VERBS = {
    approve: "approved",
    reject: "rejected",
    spam: "marked as spam",
    restore: "restored",
    delete: "deleted",
    edit: "edited",
    ban: "banned",
    shadow_ban: "shadow-banned",
    unban: "lifted the ban on",
    set_role: "changed the role of",
    update_rules: "changed the rules",
  };
  const TITLES = { pending: "Pending comments", flagged: "Flagged comments", spam: "Spam", rejected: "Rejected comments" };
  const EMPTY = {
    pending: "No comments are waiting for review.",
    flagged: "No comments are flagged.",
    spam: "No comments are marked as spam.",
    rejected: "No comments are rejected.",
  };
  // Which actions a comment's status allows; "approve" on a published comment dismisses its flags.
  const ACTIONS = {
    pending: ["approve", "reject", "spam"],
    approved: ["approve", "reject", "spam"],
    spam: ["restore", "reject"],
    rejected: ["restore", "spam"],
  };
  const BULK = { pending: ["approve", "reject", "spam"], flagged: ["approve", "reject", "spam"], spam: ["reject"], rejected: ["spam"] };
  const INTS = ["max_links", "flag_threshold", "trusted_after", "min_account_age_minutes", "edit_window_minutes",
    "max_body_chars", "duplicate_window_seconds", "posts_per_minute", "post_burst", "posts_per_hour"];

  // Tokens live in this tab's session storage, so they end with the tab, and
  // travel only in headers and JSON bodies.
  const store = storage(areaOf("sessionStorage"), "parley.admin.");
  const client = createClient({ store, onSignedOut: (note) => signOutLocal(note) });
  const { api, refresh, saveSession } = client;


  // explain turns an API error into words for the moderator.
  function explain(err) {
    const msg = sentence(err.message);
    switch (err.code) {
      case "network":
        return "Couldn't reach the server. Check your connection and try again.";
      case "invalid_credentials":
        return "That username or email and password don't match.";
      case "unauthorized":
      case "invalid_token":
        return "Your session has expired. Please sign in again.";
      case "forbidden":
        return msg && msg !== "You may not do this." ? msg : "Your account may not do this.";
      case "not_found":
        return "It is not there any more; someone may have removed it.";
      case "conflict":
        return msg || "Someone changed this first. Refresh and try again.";
      case "rate_limited":
        return `Too many requests — try again in ${err.retryAfter ? plural(err.retryAfter, "second") : "a moment"}.`;
      case "unavailable":
        return "The server is busy. Please try again in a moment.";
      case "payload_too_large":
        return "That's too long.";
      case "validation_failed":
        return err.fields && Object.keys(err.fields).length ? "Please correct the marked fields." : msg || "Please check what you entered.";
      default:
        return msg && err.code !== "internal" ? msg : "Something went wrong on the server. Please try again.";
    }
  }

  // ---- forms: errors next to what caused them
  function clearError(box) {
    const err = $(".err", box);
    if (err) err.textContent = "";
    for (const el of $$("[aria-invalid]", box)) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    }
    for (const el of $$(".field-err", box)) el.remove();
  }

  // fail shows a message in box's .err and a note under each named field.
  let noteSeq = 0;
  function fail(box, text, fields = {}) {
    clearError(box);
    $(".err", box).textContent = text;
    for (const [name, why] of Object.entries(fields)) {
      const input = box.elements && box.elements.namedItem(name);
      if (!input || !input.closest) continue;
      const note = document.createElement("small");
      note.className = "field-err";
      note.id = "field-err-" + ++noteSeq;
      note.textContent = sentence(String(why));
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
      input.closest("label").append(note);
    }
    const first = $("[aria-invalid]", box);
    if (first) first.focus();
  }

  const showError = (box, err) => fail(box, explain(err), err.fields || {});

  // A field's note goes as soon as it is edited.
  document.addEventListener("input", (e) => {
    const el = e.target;
    if (el.getAttribute("aria-invalid") !== "true") return;
    document.getElementById(el.getAttribute("aria-describedby"))?.remove();
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  });

  async function busy(box, fn) {
    const buttons = $$("button", box);
    for (const b of buttons) b.disabled = true;
    box.setAttribute("aria-busy", "true");
    try {
      await fn();
    } finally {
      for (const b of buttons) b.disabled = false;
      box.removeAttribute("aria-busy");
    }
  }

  // announce tells the moderator what happened. A quiet announcement is for
  // screen readers only: what the page already shows (who signed in) need
  // not float over the queue, which on a phone it would cover.
  function announce(text, quiet = false) {
    status.classList.toggle("quiet", quiet);
    status.textContent = "";
    void status.offsetWidth; // restarts the fade, and the same words are read again
    status.textContent = text;
  }

  // ---- time
  const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  const units = [["year", 31536e6], ["month", 2592e6], ["week", 6048e5], ["day", 864e5], ["hour", 36e5], ["minute", 6e4]];
  function ago(iso) {
    const diff = Math.min(0, Date.parse(iso) - Date.now());
    for (const [unit, ms] of units) {
      if (Math.abs(diff) >= ms) return rtf.format(Math.round(diff / ms), unit);
    }
    return "just now";
  }
  const exact = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

  function setTime(el, iso, relative) {
    el.dateTime = iso || "";
    if (!iso) return;
    el.textContent = relative ? ago(iso) : exact(iso);
    el.title = exact(iso);
  }

  // ---- who is signed in
  const canModerate = (u) => !!u && (u.role === "moderator" || u.role === "admin");
  const nameOf = (a) => {
    if (!a) return "unknown";
    if (a.guest_name) return a.guest_name;
    const same = (a.display_name || "").toLowerCase() === (a.username || "").toLowerCase();
    return a.display_name && !same ? `${a.display_name} (${a.username})` : a.display_name || a.username || "unknown";
  };

  function signOutLocal(note) {
    client.forget();
    S.me = null;
    S.seq++;
    $("#who").hidden = true;
    $("#work").hidden = true;
    $("#signin-view").hidden = false;
    queue.replaceChildren();
    S.items.clear();
    $("#log").replaceChildren();
    if (note) announce(note);
  }

  async function enter(user) {
    S.me = user;
    await loadArticles(); // first, as the queue links to the articles
    try {
      fillSiteFilter((await api("GET", "/sites?limit=200")).items || []);
    } catch {
      $("#site").closest("label").hidden = true; // the queue covers what the server allows
    }
    $("#me-name").textContent = nameOf(user);
    $("#me-role").textContent = user.role;
    $("#transfer-tab").hidden = user.role !== "admin";
    $("#who").hidden = false;
    $("#signin-view").hidden = true;
    $("#work").hidden = false;
    show(S.view);
  }

  // viewTitle is the heading of the view on show, where focus goes on arrival.
  const viewTitle = () => $(STATES.includes(S.view) ? "#queue-title" : `#${S.view}-title`);

  $("#signin").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearError(form);
    const login = form.elements.login.value.trim();
    const password = form.elements.password.value;
    if (!login || !password) {
      fail(form, "Enter your username or email and your password.");
      return;
    }
    busy(form, async () => {
      let data;
      try {
        data = await api("POST", "/auth/login", { login, password }, false);
      } catch (err) {
        showError(form, err);
        return;
      }
      if (!canModerate(data.user)) {
        // End the login the server just made rather than leave it lying around.
        api("POST", "/auth/logout", { refresh_token: data.refresh_token }, false).catch(() => {});
        fail(form, "This account cannot moderate.");
        return;
      }
      saveSession(data);
      form.reset();
      announce(`Signed in as ${nameOf(data.user)}.`, true);
      await enter(data.user);
      viewTitle().focus();
    });
  });

  // signOut ends the login on the server too, so its refresh token is dead.
  function signOut(note) {
    client.signOut();
    signOutLocal(note);
  }

  $("#signout").addEventListener("click", () => {
    signOut("You're signed out.");
    $("#signin input").focus();
  });

  // ---- views
  function show(view) {
    S.view = view;
    for (const b of $$("[data-view]")) {
      if (b.dataset.view === view) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    const inQueue = STATES.includes(view);
    refreshStats();
    $("#queue-view").hidden = !inQueue;
    $("#log-view").hidden = view !== "log";
    $("#rules-view").hidden = view !== "rules";
    $("#sites-view").hidden = view !== "sites";
    $("#transfer-view").hidden = view !== "transfer";
    $("#password-view").hidden = view !== "password";
    if (inQueue) {
      $("#queue-title").textContent = TITLES[view];
      for (const b of $$("[data-bulk]")) b.hidden = !BULK[view].includes(b.dataset.bulk);
      loadQueue(true, true);
    } else if (view === "log") {
      loadLog(true);
    } else if (view === "sites") {
      loadSites();
    } else if (view === "rules") {
      loadRules();
    }
  }

  for (const b of $$("[data-view]")) b.addEventListener("click", () => show(b.dataset.view));

  async function refreshStats() {
    try {
      const n = await api("GET", "/moderation/stats" + (S.site ? "?site=" + encodeURIComponent(S.site) : ""));
      for (const el of $$("[data-count]")) el.textContent = String(n[el.dataset.count] ?? 0);
    } catch {
      // the counts are a convenience; the queue itself says what failed
    }
  }

  // loadArticles fills the article filter; a few pages cover any real blog.
  async function loadArticles() {
    if (S.articles.size) return;
    let cursor = null;
    try {
      for (let page = 0; page < 5; page++) {
        const q = new URLSearchParams({ limit: "200" });
        if (cursor) q.set("cursor", cursor);
        const data = await api("GET", "/articles?" + q);
        for (const a of data.items || []) S.articles.set(a.slug, a);
        cursor = data.next_cursor;
        if (!cursor) break;
      }
    } catch {
      // without the list the filter offers "All articles" only
    }
    const box = $("#article");
    for (const a of S.articles.values()) {
      const o = document.createElement("option");
      o.value = a.slug;
      o.textContent = a.title || a.slug;
      box.append(o);
    }
  }

  $("#article").addEventListener("change", (e) => {
    S.article = e.target.value;
    loadQueue(true, true);
  });
  $("#sort").addEventListener("change", (e) => {
    S.sort = e.target.value;
    loadQueue(true, true);
  });
  $("#reload").addEventListener("click", () => {
    loadQueue(true);
    refreshStats();
  });

  // ---- the queue
  const tpl = (id) => $(id).content.firstElementChild.cloneNode(true);

  // safeURL returns url when it is an absolute http(s) address, else "".
  function safeURL(url) {
    try {
      const u = new URL(url);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
    } catch {
      return "";
    }
  }

  function flagWords(flags) {
    const reasons = Object.entries((flags && flags.reasons) || {}).sort((a, b) => b[1] - a[1]);
    return reasons.map(([r, n]) => `${r.replaceAll("_", " ")} ×${n}`).join(", ");
  }

  function renderItem(it) {
    const c = it.comment;
    const li = tpl("#t-item");
    li.id = "q-" + c.id;
    li.dataset.id = String(c.id);
    const author = it.author || c.author;
    const who = nameOf(author);
    $(".author", li).textContent = who;
    $(".guest", li).hidden = !(author && author.guest_name);
    const email = $(".email", li);
    email.hidden = !author || typeof author.email_verified !== "boolean";
    email.textContent = author && author.email_verified ? "email confirmed" : "email not confirmed";
    $(".pick", li).setAttribute("aria-label", `Select the comment by ${who}`);

    const art = it.article || { slug: c.article_slug, title: c.article_slug };
    const url = safeURL((S.articles.get(art.slug) || {}).url);
    const where = $(".article", li);
    if (url) {
      const a = document.createElement("a");
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = art.title || art.slug;
      where.append(a);
    } else {
      where.textContent = art.title || art.slug;
    }
    setTime($("time", li), c.created_at, true);
    const state = $(".state", li);
    state.textContent = STATUS[c.status] || c.status;
    state.dataset.status = c.status;
    state.hidden = c.status === S.view; // said by the tab already

    const chips = $(".chips", li);
    for (const h of it.holds || []) {
      const chip = document.createElement("li");
      chip.textContent = HOLDS[h] || h.replaceAll("_", " ");
      chips.append(chip);
    }
    chips.hidden = !chips.children.length;
    const flags = $(".flags", li);
    const n = (it.flags && it.flags.count) || 0;
    flags.hidden = n === 0;
    if (n) flags.textContent = `Flagged ${plural(n, "time")}: ${flagWords(it.flags)}`;
    const notes = $(".flag-notes", li);
    notes.replaceChildren();
    for (const f of (it.flags && it.flags.notes) || []) {
      const q = document.createElement("li");
      q.textContent = `${f.reason.replaceAll("_", " ")}: “${f.note}”`;
      notes.append(q);
    }
    notes.hidden = !notes.children.length;

    const body = $(".body", li);
    body.innerHTML = c.body_html || ""; // sanitized by the server; the only HTML we insert
    for (const link of $$("a", body)) {
      // a second line of defence, and links open away from the moderation page
      if (!/^(https?:|mailto:)/i.test(link.getAttribute("href") || "")) link.removeAttribute("href");
      link.target = "_blank";
      link.rel = "nofollow ugc noopener noreferrer";
    }
    const src = $(".source", li);
    src.hidden = c.body == null;
    $("pre", src).textContent = c.body ?? "";

    const allowed = ACTIONS[c.status] || [];
    for (const b of $$("[data-act]", li)) {
      const act = b.dataset.act;
      b.hidden = act === "ban" ? !(author && author.id) || author.id === S.me.id : !allowed.includes(act);
    }
    if (c.status === "approved") $('[data-act="approve"]', li).textContent = "Keep, dismiss flags";
    return li;
  }

  // loadQueue fetches a page of the queue: the next one, or with reset the
  // first. A fresh view (fresh) empties the list at once, so that nobody acts
  // on the comments of the view they just left.
  async function loadQueue(reset, fresh = false) {
    const seq = ++S.seq;
    if (fresh) {
      queue.replaceChildren();
      S.items.clear();
      for (const id of ["#queue-empty", "#queue-err", "#queue-more", "#bulk"]) $(id).hidden = true;
    }
    const q = new URLSearchParams({ state: S.view, sort: S.sort, limit: "50" });
    if (S.article) q.set("article", S.article);
    if (S.site) q.set("site", S.site);
    if (!reset && S.cursor) q.set("cursor", S.cursor);
    const more = $("#queue-more");
    const box = $("#queue-err");
    more.disabled = true;
    queue.setAttribute("aria-busy", "true");
    try {
      const data = await api("GET", "/moderation/queue?" + q);
      if (seq !== S.seq) return;
      if (reset) {
        queue.replaceChildren();
        S.items.clear();
        clearError($("#bulk"));
      }
      for (const it of data.items || []) {
        if (S.items.has(it.comment.id)) continue;
        S.items.set(it.comment.id, it);
        queue.append(renderItem(it));
      }
      S.cursor = data.next_cursor || null;
      box.hidden = true;
      more.hidden = !S.cursor;
      syncQueue();
    } catch (err) {
      if (seq !== S.seq) return;
      $("p", box).textContent = `Couldn't load the queue. ${explain(err)}`;
      S.retry.queue = () => loadQueue(reset);
      box.hidden = false;
      $("#queue-empty").hidden = true;
    } finally {
      if (seq === S.seq) {
        more.disabled = false;
        queue.removeAttribute("aria-busy");
      }
    }
  }

  $("#queue-more").addEventListener("click", () => loadQueue(false));
  $("#queue-err [data-retry]").addEventListener("click", () => S.retry.queue?.());

  // syncQueue updates what depends on the list: the empty note and the selection.
  function syncQueue() {
    const empty = !queue.children.length;
    const note = $("#queue-empty");
    note.textContent = S.article ? EMPTY[S.view].replace(".", " on this article.") : EMPTY[S.view];
    note.hidden = !empty || !$("#queue-err").hidden;
    $("#bulk").hidden = empty;
    const picks = $$(".pick", queue);
    const n = picks.filter((p) => p.checked).length;
    const all = $("#all");
    all.checked = n > 0 && n === picks.length;
    all.indeterminate = n > 0 && n < picks.length;
    $("#picked").textContent = n ? `${n} selected` : "None selected";
    for (const b of $$("[data-bulk]")) b.disabled = n === 0;
    for (const li of queue.children) li.classList.toggle("picked", $(".pick", li).checked);
  }

  queue.addEventListener("change", (e) => {
    if (e.target.classList.contains("pick")) syncQueue();
  });
  $("#all").addEventListener("change", (e) => {
    for (const p of $$(".pick", queue)) p.checked = e.target.checked;
    syncQueue();
  });

  // removeItems takes handled comments off the list, keeping keyboard focus
  // on the list rather than letting it fall back to the page's start.
  function removeItems(ids) {
    const gone = new Set(ids.map(Number));
    const active = document.activeElement;
    let focusLost = false;
    let next = null;
    for (const id of gone) {
      const li = document.getElementById("q-" + id);
      if (!li) continue;
      if (li.contains(active)) focusLost = true;
      let sib = li.nextElementSibling;
      while (sib && gone.has(Number(sib.dataset.id))) sib = sib.nextElementSibling;
      if (sib) next = sib;
      li.remove();
      S.items.delete(id);
    }
    syncQueue();
    if (focusLost || active === document.body) {
      const target = next && next.isConnected ? next : queue.lastElementChild;
      const b = target && $(".actions button:not([hidden])", target);
      (b || $("#queue-title")).focus();
    }
    // the next page moves up when this one runs dry
    if (!queue.children.length && S.cursor) loadQueue(false);
  }

  async function moderate(li, it, button) {
    const act = button.dataset.act;
    const actions = $$(".actions button", li);
    clearError(li);
    for (const b of actions) b.disabled = true;
    try {
      await api("POST", `/moderation/comments/${it.comment.id}/${act}`, {});
    } catch (err) {
      for (const b of actions) b.disabled = false;
      fail(li, explain(err));
      button.focus();
      return;
    }
    removeItems([it.comment.id]);
    announce(`The comment by ${nameOf(it.author || it.comment.author)} is ${DONE[act]}.`);
    refreshStats();
  }

  queue.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const li = b.closest("li.item");
    const it = S.items.get(Number(li.dataset.id));
    if (!it) return;
    if (b.dataset.act === "ban") banForm(li, it);
    else moderate(li, it, b);
  });

  for (const b of $$("[data-bulk]")) {
    b.addEventListener("click", () => {
      const bar = $("#bulk");
      const ids = $$(".pick:checked", queue).map((p) => Number(p.closest("li.item").dataset.id));
      if (!ids.length) return;
      const action = b.dataset.bulk;
      clearError(bar);
      busy(bar, async () => {
        let res;
        try {
          res = await api("POST", "/moderation/bulk", { ids, action });
        } catch (err) {
          fail(bar, explain(err));
          return;
        }
        removeItems(ids);
        announce(`${plural(res.updated ?? ids.length, "comment")} ${DONE[action]}.`);
        refreshStats();
      }).then(syncQueue);
    });
  }

  // ---- banning an author
  function banForm(li, it) {
    const slot = $(".slot", li);
    let form = $("form.ban", slot);
    if (form) {
      form.hidden = !form.hidden;
      if (!form.hidden) form.elements.reason.focus();
      return;
    }
    const author = it.author || it.comment.author;
    const who = nameOf(author);
    form = tpl("#t-ban");
    $("h3", form).textContent = `Ban ${who}`;
    const hours = form.elements.duration_hours;
    const sync = () => { hours.disabled = form.elements.term.value !== "hours"; };
    for (const r of $$('[name="term"]', form)) r.addEventListener("change", sync);
    sync();
    $("[data-close]", form).addEventListener("click", () => {
      form.hidden = true;
      $('[data-act="ban"]', li).focus();
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearError(form);
      const reason = form.elements.reason.value.trim();
      if (!reason) {
        fail(form, "Say why: the reason goes into the audit log.", { reason: "required" });
        return;
      }
      const body = { reason, shadow: form.elements.shadow.checked, purge: form.elements.purge.checked };
      if (form.elements.term.value === "hours") {
        const h = hours.value.trim();
        if (!/^\d+$/.test(h) || Number(h) < 1) {
          fail(form, "Please correct the marked fields.", { duration_hours: "a whole number of hours, at least 1" });
          return;
        }
        body.duration_hours = Number(h);
      }
      busy(form, async () => {
        try {
          await api("POST", `/moderation/users/${author.id}/ban`, body);
        } catch (err) {
          showError(form, err);
          return;
        }
        const how = body.duration_hours ? ` for ${plural(body.duration_hours, "hour")}` : "";
        announce(`${who} is ${body.shadow ? "shadow-banned" : "banned"}${how}${body.purge ? ", and their comments are rejected" : ""}.`);
        // Every listed comment of theirs says so, and offers no second ban.
        for (const other of queue.children) {
          const o = S.items.get(Number(other.dataset.id));
          if (!o || ((o.author || o.comment.author) || {}).id !== author.id) continue;
          $(".ban", other)?.remove();
          $('[data-act="ban"]', other).hidden = true;
          const note = document.createElement("p");
          note.className = "note";
          note.textContent = `${who} is banned.`;
          $(".slot", other).append(note);
        }
        refreshStats();
        if (!body.purge) {
          $(".actions button:not([hidden])", li)?.focus();
          return;
        }
        await loadQueue(true);
        $("#queue-title").focus();
      });
    });
    slot.append(form);
    form.elements.reason.focus();
  }

  // ---- the audit log
  function describe(e) {
    const who = e.moderator && e.moderator.username ? nameOf(e.moderator) : "A former moderator";
    const verb = VERBS[e.action] || e.action.replaceAll("_", " ");
    const target = e.target_type === "rules" ? "" : ` ${e.target_type} #${e.target_id}`;
    return who + " " + verb + target;
  }

  async function loadLog(reset) {
    const seq = ++S.logSeq;
    const q = new URLSearchParams({ limit: "50" });
    if (!reset && S.logCursor) q.set("cursor", S.logCursor);
    const list = $("#log");
    const more = $("#log-more");
    const box = $("#log-err");
    more.disabled = true;
    try {
      const data = await api("GET", "/moderation/log?" + q);
      if (seq !== S.logSeq) return;
      if (reset) list.replaceChildren();
      for (const e of data.items || []) {
        const li = tpl("#t-log");
        setTime($("time", li), e.at, false);
        $(".what", li).textContent = describe(e);
        $(".why", li).textContent = e.reason ? `“${e.reason}”` : "";
        list.append(li);
      }
      S.logCursor = data.next_cursor || null;
      more.hidden = !S.logCursor;
      box.hidden = true;
      $("#log-empty").hidden = list.children.length > 0;
    } catch (err) {
      if (seq !== S.logSeq) return;
      $("p", box).textContent = `Couldn't load the log. ${explain(err)}`;
      S.retry.log = () => loadLog(reset);
      box.hidden = false;
    } finally {
      more.disabled = false;
    }
  }

  $("#log-more").addEventListener("click", () => loadLog(false));
  $("#log-err [data-retry]").addEventListener("click", () => S.retry.log?.());

  // ---- the rules
  const rulesForm = $("#rules");

  function fillRules(r) {
    S.rules = r;
    const el = rulesForm.elements;
    for (const k of INTS) el[k].value = String(r[k] ?? "");
    el.hold_guests.checked = !!r.hold_guests;
    el.blocked_words.value = (r.blocked_words || []).join("\n");
  }

  async function loadRules() {
    const admin = S.me && S.me.role === "admin";
    $("#rules-note").hidden = admin;
    $('#rules [type="submit"]').hidden = !admin;
    // Moderators read the rules: fields stay focusable and selectable, but fixed.
    for (const el of rulesForm.elements) {
      if (el.type === "checkbox") el.disabled = !admin;
      else if (el.tagName !== "BUTTON" && el.tagName !== "FIELDSET") el.readOnly = !admin;
    }
    clearError(rulesForm);
    // Until the stored rules arrive, what the form shows is stale: saving it
    // (or typing into it, only to be overwritten) would be wrong.
    delete rulesForm.dataset.loaded;
    $('#rules [type="submit"]').disabled = true;
    try {
      fillRules(await api("GET", "/moderation/rules"));
      rulesForm.dataset.loaded = "true";
      $('#rules [type="submit"]').disabled = false;
    } catch (err) {
      showError(rulesForm, err);
    }
  }

  rulesForm.addEventListener("submit", (e) => {
    e.preventDefault();
    clearError(rulesForm);
    const el = rulesForm.elements;
    const next = { ...S.rules }; // keeps any rule this page does not know yet
    const bad = {};
    for (const k of INTS) {
      const v = el[k].value.trim();
      if (/^-?\d+$/.test(v)) next[k] = Number(v);
      else bad[k] = "enter a whole number";
    }
    if (Object.keys(bad).length) {
      fail(rulesForm, "Please correct the marked fields.", bad);
      return;
    }
    next.hold_guests = el.hold_guests.checked;
    next.blocked_words = el.blocked_words.value.split("\n").map((w) => w.trim()).filter(Boolean);
    busy(rulesForm, async () => {
      try {
        fillRules(await api("PUT", "/moderation/rules", next));
      } catch (err) {
        showError(rulesForm, err);
        return;
      }
      announce("The rules are saved.");
    });
  });

  // ---- the signed-in moderator's own password
  const passwordForm = $("#password");
  passwordForm.addEventListener("submit", (e) => {
    e.preventDefault();
    clearError(passwordForm);
    const el = passwordForm.elements;
    const current = el.current_password.value;
    const next = el.new_password.value;
    if (!current || [...next].length < 8 || [...next].length > 256) {
      fail(passwordForm, "Please correct the marked fields.", {
        ...(current ? {} : { current_password: "enter your current password" }),
        ...([...next].length < 8 || [...next].length > 256 ? { new_password: "8 to 256 characters" } : {}),
      });
      return;
    }
    if (el.repeat.value !== next) {
      fail(passwordForm, "The two new passwords differ.", { repeat: "type the new password again" });
      return;
    }
    busy(passwordForm, async () => {
      try {
        await api("POST", "/auth/password", { current_password: current, new_password: next });
      } catch (err) {
        if (err.code === "invalid_credentials") fail(passwordForm, "That is not your current password.", { current_password: "wrong password" });
        else showError(passwordForm, err);
        return;
      }
      passwordForm.reset();
      // The server ended every session of this user, this one included.
      signOutLocal("Your password is changed. Sign in with the new one.");
      $("#signin input").focus();
    });
  });

  // ---- sites: admins manage them; moderators see the ones they moderate
  const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);

  async function loadSites() {
    const box = $("#sites-err");
    box.hidden = true;
    $("#site-new").hidden = !(S.me && S.me.role === "admin");
    try {
      const data = await api("GET", "/sites?limit=200");
      $("#sites").replaceChildren(...(data.items || []).map(siteItem));
      fillSiteFilter(data.items || []);
    } catch (err) {
      S.retry.sites = loadSites;
      $("p", box).textContent = explain(err);
      box.hidden = false;
    }
  }

  // fillSiteFilter offers the queue's site filter once there is a choice.
  function fillSiteFilter(sites) {
    const box = $("#site");
    const keep = box.value;
    box.replaceChildren(box.firstElementChild);
    for (const s of sites) {
      const o = document.createElement("option");
      o.value = s.id;
      o.textContent = s.name;
      box.append(o);
    }
    box.value = keep;
    box.closest("label").hidden = sites.length < 2;
  }

  function siteItem(site) {
    const li = tpl("#t-site");
    const form = $("form", li);
    const admin = S.me && S.me.role === "admin";
    form.dataset.site = site.id;
    $(".site-name", form).textContent = site.name;
    $(".site-id", form).textContent = site.id;
    const el = form.elements;
    el.name.value = site.name;
    el.origins.value = (site.origins || []).join("\n");
    el.auto_threads.checked = !!site.auto_threads;
    el.keep_query.checked = !!site.keep_query;
    const configured = site.configured_origins || [];
    $(".configured", form).hidden = !configured.length;
    $(".configured", form).textContent = "Also, from PARLEY_ALLOWED_ORIGINS: " + configured.join(", ");
    $(".rules-own", form).textContent = site.rules ? "This site has moderation rules of its own." : "This site follows the global rules.";
    $(".embed-code", form).textContent = `<div id="parley" data-site="${site.id}"></div><script src="${location.origin}/widget.js" async></script>`;
    for (const f of form.elements) {
      if (f.type === "checkbox") f.disabled = !admin;
      else if (f.tagName === "INPUT" || f.tagName === "TEXTAREA") f.readOnly = !admin;
    }
    $(".row", form).hidden = !admin;
    $('[data-act="delete"]', form).hidden = site.id === "default";
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearError(form);
      const body = { name: el.name.value.trim(), origins: lines(el.origins.value), auto_threads: el.auto_threads.checked, keep_query: el.keep_query.checked };
      busy(form, async () => {
        try {
          const res = await api("PATCH", `/sites/${encodeURIComponent(site.id)}`, body);
          li.replaceWith(siteItem(res.site || res));
        } catch (err) {
          showError(form, err);
          return;
        }
        announce(`The site ${body.name} is saved.`);
      });
    });
    $('[data-act="delete"]', form).addEventListener("click", () => {
      clearError(form);
      busy(form, async () => {
        try {
          await api("DELETE", `/sites/${encodeURIComponent(site.id)}`);
        } catch (err) {
          showError(form, err);
          return;
        }
        li.remove();
        announce(`The site ${site.name} is deleted.`);
      });
    });
    return li;
  }

  $("#site-new").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearError(form);
    const el = form.elements;
    const body = { id: el.id.value.trim(), name: el.name.value.trim(), origins: lines(el.origins.value) };
    busy(form, async () => {
      try {
        await api("POST", "/sites", body);
      } catch (err) {
        showError(form, err);
        return;
      }
      form.reset();
      announce(`The site ${body.name} is added.`);
      await loadSites();
    });
  });
  $("#sites-err [data-retry]").addEventListener("click", () => S.retry.sites?.());
  $("#site").addEventListener("change", (e) => {
    S.site = e.target.value;
    loadQueue(true, true);
    refreshStats();
  });

  // ---- import and export (admins)
  const importForm = $("#import");

  // upload sends the file as the request body with XMLHttpRequest, which
  // (unlike fetch) reports upload progress; a 401 renews the session once.
  function upload(path, file, onProgress) {
    const send = () => new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1" + path);
      const token = store.get("access");
      if (token) xhr.setRequestHeader("Authorization", "Bearer " + token);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: described below */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else {
          const e = data?.error || {};
          reject(new ApiError(xhr.status, e.code || "http_" + xhr.status, e.message || `The server answered ${xhr.status}.`, e.fields || {}, 0));
        }
      };
      xhr.onerror = () => reject(new ApiError(0, "network", "The upload did not reach the server.", {}, 0));
      xhr.send(file);
    });
    return send().catch(async (err) => {
      if (err.status === 401 && await refresh()) return send();
      throw err;
    });
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function showImport(job) {
    const bar = $("#import-progress");
    bar.hidden = false;
    bar.value = job.file_size ? Math.min(job.bytes_read / job.file_size, 1) : 0;
    const counts = `${plural(job.created, "comment", "comments")} ${job.dry_run ? "to import" : "imported"}, ` +
      `${job.merged} already there, ${job.skipped} skipped`;
    const words = { queued: "Waiting to start…", running: "Importing: " + counts + "…", done: "Done: " + counts + ".", failed: "The import stopped: " + (job.error || "unknown error") };
    $("#import-state").textContent = words[job.state] || job.state;
  }

  function showSummary(sum) {
    const box = $("#import-result");
    box.hidden = false;
    $("#import-totals").textContent = `${sum.dry_run ? "Would import" : "Imported"} ${plural(sum.created, "comment", "comments")} ` +
      `into ${plural(sum.threads.length, "thread", "threads")} (${sum.threads_created} new); ${sum.merged} were already imported, ${sum.skipped} skipped.`;
    const threads = $("#import-threads");
    threads.replaceChildren();
    for (const th of sum.threads.slice(0, 200)) {
      const li = document.createElement("li");
      li.textContent = `${th.new ? "new" : "existing"} · ${th.title || th.key} (${th.key}): ${th.created} created, ${th.merged} merged, ${th.skipped} skipped`;
      threads.append(li);
    }
    const skips = $("#import-skips");
    skips.replaceChildren();
    for (const sk of [...sum.skips.slice(0, 200), ...(sum.notes || []).map((n) => ({ item: "note", reason: n }))]) {
      const li = document.createElement("li");
      li.textContent = `${sk.item}: ${sk.reason}`;
      skips.append(li);
    }
  }

  importForm.addEventListener("submit", (e) => {
    e.preventDefault();
    clearError(importForm);
    const el = importForm.elements;
    const file = el.file.files[0];
    if (!file) {
      fail(importForm, "Choose the export file to import.", { file: "required" });
      return;
    }
    $("#import-result").hidden = true;
    const q = new URLSearchParams({ format: el.format.value, site: el.site.value.trim() || "default", name: file.name });
    if (el.map.value.trim()) q.set("map", el.map.value.trim());
    if (el.dry_run.checked) q.set("dry_run", "true");
    busy(importForm, async () => {
      const bar = $("#import-progress");
      bar.hidden = false;
      bar.value = 0;
      $("#import-state").textContent = "Uploading…";
      let job;
      try {
        job = (await upload("/admin/imports?" + q, file, (f) => {
          bar.value = f;
          $("#import-state").textContent = `Uploading: ${Math.round(f * 100)}%`;
        })).import;
      } catch (err) {
        $("#import-state").textContent = "";
        bar.hidden = true;
        if (err.code === "payload_too_large") fail(importForm, "The file is larger than 1 GiB: import it on the server with parley import.");
        else if (err.code === "not_found") fail(importForm, "There is no such site.", { site: "no such site" });
        else showError(importForm, err);
        return;
      }
      while (job.state === "queued" || job.state === "running") {
        showImport(job);
        await sleep(400);
        try {
          job = (await api("GET", `/admin/imports/${job.id}`)).import;
        } catch (err) {
          showError(importForm, err);
          return;
        }
      }
      showImport(job);
      if (job.summary) showSummary(job.summary);
      announce(job.state === "done" ? "The import is done." : "The import stopped.");
    });
  });

  $("#export").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearError(form);
    const site = form.elements.site.value.trim();
    busy(form, async () => {
      const get = () => fetch("/api/v1/admin/export" + (site ? "?site=" + encodeURIComponent(site) : ""), {
        headers: { Authorization: "Bearer " + (store.get("access") || "") }, credentials: "omit", cache: "no-store",
      });
      let res = await get().catch(() => null);
      if (res?.status === 401 && await refresh()) res = await get().catch(() => null);
      if (!res || !res.ok) {
        fail(form, res?.status === 404 ? "There is no such site." : "The export could not be made; try again.");
        return;
      }
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await res.blob());
      a.download = site ? `parley-export-${site}.jsonl` : "parley-export.jsonl";
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      announce("The export is downloaded.");
    });
  });

  // ---- start
  async function start() {
    if (!client.signedIn()) {
      $("#signin input").focus();
      return;
    }
    try {
      const data = await api("GET", "/me");
      const user = data.user || data;
      if (!canModerate(user)) {
        signOut();
        fail($("#signin"), "This account cannot moderate.");
        return;
      }
      await enter(user);
    } catch (err) {
      if (S.me == null) fail($("#signin"), explain(err));
    }
  }
  setInterval(() => {
    for (const t of $$("time", queue)) if (t.dateTime) t.textContent = ago(t.dateTime);
  }, 60000);
  start();
})();
