// Parley API client, shared by the comment widget (embed.js) and the
// moderation page (admin.js): where tokens are kept, how a session is renewed,
// how errors come back. A fix here reaches both.
//
//   import { ApiError, createClient, storage } from "./client.js";
//   const client = createClient({ store: storage(localStorage, "parley."), onSignedOut });
//   const data = await client.api("GET", "/me");

// ApiError is a failed call: status 0 and code "network" when the server
// could not be reached, else the API's status, code, message, fields and
// Retry-After in seconds.
export class ApiError extends Error {
  constructor(status, code, message, fields, retryAfter) {
    super(message);
    Object.assign(this, { status, code, fields, retryAfter });
  }
}

// storage keeps strings under prefix in a Web Storage area (localStorage,
// sessionStorage), or in memory where storage is blocked. null removes.
export function storage(area, prefix) {
  const mem = {};
  return {
    get(k) {
      try { return area.getItem(prefix + k); } catch { return mem[k] ?? null; }
    },
    set(k, v) {
      try {
        if (v == null) area.removeItem(prefix + k);
        else area.setItem(prefix + k, v);
      } catch {
        if (v == null) delete mem[k];
        else mem[k] = v;
      }
    },
  };
}

// areaOf returns window[name], or null where merely touching it throws (a
// sandboxed frame, blocked cookies); storage then keeps values in memory.
export function areaOf(name) {
  try { return window[name]; } catch { return null; }
}

// retryAfter reads a Retry-After header (seconds or a date) as seconds.
export function retryAfter(res) {
  const v = res.headers.get("Retry-After");
  if (!v) return 0;
  const n = /^\d+$/.test(v) ? Number(v) : Math.round((Date.parse(v) - Date.now()) / 1000);
  return n > 0 ? n : 0;
}

// sentence makes an API message a sentence: capital first, full stop last.
export const sentence = (s) => (s ? s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".") : "");

// plural writes "1 comment", "2 comments".
export const plural = (n, one, many = one + "s") => `${n} ${n === 1 ? one : many}`;

const call = (method, path, body, token) => {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = "Bearer " + token;
  return fetch("/api/v1" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  }).catch(() => {
    throw new ApiError(0, "network", "");
  });
};

// createClient returns the calls of one front end. store holds "access" and
// "refresh"; onSession(data) sees every new session (sign-in, renewal);
// onSignedOut(note) is told when the server ended the login (a refused
// refresh token), never for a network blip, a 429 or a 503, which leave
// the session as it was.
export function createClient({ store, onSession = () => {}, onSignedOut = () => {} }) {
  function saveSession(data) {
    store.set("access", data.access_token || null);
    if (data.refresh_token) store.set("refresh", data.refresh_token);
    onSession(data);
  }

  function forget() {
    store.set("access", null);
    store.set("refresh", null);
  }

  // One refresh at a time: a refresh token is spent on use, and presenting it
  // twice would revoke the whole login. Resolves false when the login is over
  // (the server refused the token); a busy or unreachable server is an
  // ApiError instead, and the tokens are kept for the next try.
  let refreshing = null;
  function refresh() {
    const token = store.get("refresh");
    if (!token) return Promise.resolve(false);
    refreshing ||= call("POST", "/auth/refresh", { refresh_token: token })
      .then(async (res) => {
        if (res.status === 400 || res.status === 401) return false;
        if (!res.ok) throw new ApiError(res.status, res.status === 429 ? "rate_limited" : "unavailable", "", null, retryAfter(res));
        saveSession(await res.json());
        return true;
      })
      .finally(() => { refreshing = null; });
    return refreshing;
  }

  // api calls /api/v1 and returns the decoded answer, or throws an ApiError.
  // On a 401 it renews the session once (unless renew is false) and retries;
  // when the login is over it signs out, and a read is retried signed out.
  async function api(method, path, body, renew = true) {
    for (let attempt = 0; ; attempt++) {
      const token = store.get("access");
      const res = await call(method, path, body, token);
      if (res.status === 401 && token && renew && attempt === 0) {
        // Another request or tab may have renewed the session meanwhile.
        if (store.get("access") !== token || (await refresh())) continue;
        forget();
        onSignedOut("Your session has expired. Please sign in again.");
        if (method === "GET") continue; // reads still work signed out
      }
      const text = await res.text();
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: keep null */ }
      if (res.ok) return data;
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || "http_" + res.status, e.message || "", e.fields, retryAfter(res));
    }
  }

  // signOut ends the login on the server (best effort) and forgets it here.
  function signOut() {
    const token = store.get("refresh");
    if (token) api("POST", "/auth/logout", { refresh_token: token }, false).catch(() => {});
    forget();
  }

  const signedIn = () => !!(store.get("access") || store.get("refresh"));

  return { api, refresh, saveSession, signOut, forget, signedIn, store };
}
