/* hy3d_handle.c — libcurl easy handles set up with an engine's options (protocols, TLS, timeouts, the API body callbacks), the engine's pool of idle ones and its share handle (TLS sessions, DNS). Knows the engine's and the request's structs, calls no other unit. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hy3d.h"

/* ===== libcurl callbacks of API requests: C only, never Lua, never raise ===== */

size_t hy3d_api_write(char *p, size_t size, size_t n, void *ud) {
  hy3d_request *r = (hy3d_request *)ud;
  size_t len = size * n;
  if (r->body.len + len > HY3D_MAX_API_BODY) {
    r->too_large = 1;
    return 0;
  }
  if (hy3d_buf_append(&r->body, p, len) != 0) {
    r->sink_errno = ENOMEM;
    return 0;
  }
  return len;
}

/* API headers: only where a header block ends (an error before it is about the headers). */
static size_t api_header(char *line, size_t size, size_t n, void *ud) {
  hy3d_request *r = (hy3d_request *)ud;
  size_t len = size * n;
  if (r == NULL) return len;
  if (len >= 5 && curl_strnequal(line, "http/", 5)) r->head_done = 0;
  else if (len <= 2 && (len == 0 || line[0] == '\r' || line[0] == '\n')) r->head_done = 1;
  return len;
}

/* ===== options ===== */

/* http and https only, redirects included; the string options need libcurl 7.85 at run time. */
static CURLcode restrict_protocols(CURL *e) {
#if HY3D_CURL_GE(7, 85, 0)
  if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
      curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK)
    return CURLE_OK;
#endif
  if (curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK)
    return CURLE_FAILED_INIT;
  return curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
}

/* The options of a transfer that depend only on its engine (API requests and downloads). */
CURLcode hy3d_handle_options(hy3d_engine *eng, CURL *e) {
  CURLcode rc = CURLE_OK;
  rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, eng->connect_timeout_ms);
  if (eng->user_agent != NULL) rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, eng->user_agent);
  if (eng->ca_file != NULL) rc |= curl_easy_setopt(e, CURLOPT_CAINFO, eng->ca_file);
  if (eng->ca_path != NULL) rc |= curl_easy_setopt(e, CURLOPT_CAPATH, eng->ca_path);
  if (eng->insecure) {
    rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  rc |= restrict_protocols(e);
  return rc;
}

/* The options of this one transfer every kind has: its URL, the request it reports to, its total limit. */
CURLcode hy3d_handle_prepare(hy3d_request *r, const char *url, long timeout_ms) {
  CURLcode rc = CURLE_OK;
  rc |= curl_easy_setopt(r->easy, CURLOPT_URL, url);
  rc |= curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (void *)r);
  rc |= curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
  rc |= curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  return rc;
}

/*
 * A new easy handle set up for the engine's API calls (a JSON POST with the engine's options),
 * or NULL when out of memory. The engine keeps finished ones for its next calls
 * (api_handle_release), so each call sets only what is its own.
 */
static CURL *api_handle_new(hy3d_engine *eng) {
  CURL *e = curl_easy_init();
  CURLcode rc;
  if (e == NULL) return NULL;
  rc = hy3d_handle_options(eng, e);
  rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
  rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hy3d_api_write);
  rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, api_header);
  /* Where HTTP/2 may be offered (https: libcurl's default asks for it through ALPN, HTTP/1.1 when
     the server says no; plain http stays HTTP/1.1), a request waits for a connection being set up
     that it may multiplex on instead of opening one of its own: a burst of 1,000 polls shares a
     few connections, not one per request in flight. */
  if (curl_strnequal(eng->base_url, "https:", 6)) rc |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  if (eng->stall_s > 0) {
    rc |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, eng->stall_s);
  }
  if (rc != CURLE_OK) {
    curl_easy_cleanup(e);
    return NULL;
  }
  return e;
}

/*
 * Takes from a finished API call's handle whatever points into the request (its headers are
 * freed with it, its error buffer and itself go with the userdata). The body pointer stays
 * until the next call sets its own: libcurl reads it only during a transfer.
 */
static void api_handle_release(CURL *e) {
  (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, (char *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)NULL);
}

/* ===== the idle pool ===== */

/*
 * The pool is a stack of set-up API handles, as deep as the most requests that were alive at once
 * (each returns its handle there), so a burst of N concurrent requests costs N curl_easy_init only
 * the first time. It shrinks lazily: idle_low is the fewest idle handles it held since idle_until
 * was set; those at the bottom of the stack were not taken for a whole window of idle_s seconds,
 * and hy3d_handle_pool_trim frees them once the window ends, a few per round (from the engine's
 * rounds: no timer, an engine nobody steps keeps them until closed). A handle is freed after
 * idle_s to 2 * idle_s without use.
 */

/*
 * An easy handle for a new request: for API calls one the engine kept from an earlier call when
 * it has one (set up already; curl_easy_init allocates and fills a large handle, and setting the
 * engine's options again costs as much), else a new one. NULL when out of memory.
 */
CURL *hy3d_handle_take(hy3d_engine *eng, int kind) {
  if (kind != HY3D_KIND_API) return curl_easy_init();
  if (eng->nidle > 0) {
    CURL *e = eng->idle[--eng->nidle];
    if (eng->nidle < eng->idle_excess) eng->idle_excess = eng->nidle;   /* a marked one is in use again */
    if (eng->nidle - eng->idle_excess < eng->idle_low) eng->idle_low = eng->nidle - eng->idle_excess;
    return e;
  }
  return api_handle_new(eng);
}

/* Room for one more idle handle (the stack doubles); 0 when out of memory. */
static int pool_room(hy3d_engine *eng) {
  CURL **grown;
  int cap;
  if (eng->nidle < eng->idle_cap) return 1;
  if (eng->idle_cap > INT_MAX / 2) return 0;
  cap = eng->idle_cap > 0 ? 2 * eng->idle_cap : 16;
  grown = (CURL **)realloc(eng->idle, (size_t)cap * sizeof *grown);
  if (grown == NULL) return 0;
  eng->idle = grown;
  eng->idle_cap = cap;
  return 1;
}

/*
 * Takes back the easy handle of a finished or closed request (no longer on the multi handle).
 * An API request's handle loses everything that points into the request and is kept while the
 * engine is open (the pool grows to the most requests alive at once); any other is cleaned up.
 * Download handles are not kept: their receive buffer is large and downloads are few.
 */
void hy3d_handle_recycle(hy3d_engine *eng, CURL *easy, int kind) {
  if (kind == HY3D_KIND_API && eng != NULL && eng->multi != NULL && pool_room(eng)) {
    api_handle_release(easy);
    eng->idle[eng->nidle++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

/* Idle handles freed in one round at most: freeing 10,000 at once would stall a frame (~50 ms:
 * curl_easy_cleanup costs ~5 us here). */
#define HY3D_POOL_TRIM_STEP 32

/*
 * Once the window's end has passed, marks for freeing the idle handles no request took during it
 * (the idle_low at the bottom of the stack) and starts the next window; frees up to
 * HY3D_POOL_TRIM_STEP of those marked per call, the rest on later calls. Cheap otherwise (an empty
 * pool does not even read the clock). The engine calls it on its rounds.
 */
void hy3d_handle_pool_trim(hy3d_engine *eng) {
  int drop, i;
  if (eng->nidle == 0) return;                 /* idle_low is 0: nothing to free, the window may run on */
  if (eng->idle_excess == 0) {
    double now = hy3d_now();
    if (now < eng->idle_until) return;
    eng->idle_excess = eng->idle_low;          /* the oldest: untouched for a whole window */
    eng->idle_low = eng->nidle - eng->idle_excess;   /* the next window counts the ones that stay */
    eng->idle_until = now + eng->idle_s;
  }
  drop = eng->idle_excess < HY3D_POOL_TRIM_STEP ? eng->idle_excess : HY3D_POOL_TRIM_STEP;
  if (drop > eng->nidle) drop = eng->nidle;
  for (i = 0; i < drop; i++) curl_easy_cleanup(eng->idle[i]);
  if (drop > 0) memmove(eng->idle, eng->idle + drop, (size_t)(eng->nidle - drop) * sizeof *eng->idle);
  eng->nidle -= drop;
  eng->idle_excess -= drop;
  if (eng->nidle == 0 && eng->idle_cap > 16) {  /* an emptied pool gives its stack back too */
    free(eng->idle);
    eng->idle = NULL;
    eng->idle_cap = 0;
  }
}

/* Cleans up the engine's idle handles and their stack (engine:close). */
void hy3d_handle_pool_free(hy3d_engine *eng) {
  while (eng->nidle > 0) curl_easy_cleanup(eng->idle[--eng->nidle]);
  free(eng->idle);
  eng->idle = NULL;
  eng->idle_cap = eng->idle_low = eng->idle_excess = 0;
}

/* ===== the engine's share handle ===== */

/*
 * A share handle for one engine: TLS sessions (a new connection resumes the session of an earlier
 * one: an abbreviated handshake, no certificate chain or key exchange again) and the DNS cache.
 * Not CURL_LOCK_DATA_CONNECT: every transfer of an engine is on its one multi handle, whose
 * connection cache they share already; a shared one would only move that cache out of the multi
 * (and libcurl multiplexes HTTP/2 only on connections its own multi holds). No lock callbacks: an
 * engine is used by one thread (hy3d's rule for every object), so nothing touches the share
 * concurrently. NULL when out of memory (the engine then runs without, as before).
 */
CURLSH *hy3d_share_new(void) {
  CURLSH *sh = curl_share_init();
  if (sh == NULL) return NULL;
  if (curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
      curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
    curl_share_cleanup(sh);
    return NULL;
  }
  return sh;
}

/*
 * An easy handle uses the engine's share only while it is on the multi handle: joined just before
 * curl_multi_add_handle, left just after curl_multi_remove_handle (hy3d_engine.c). So no handle
 * holds the share once the engine has taken its transfers off (engine:close), and the share can
 * go then, whatever requests, idle handles or downloads are still alive (a request closed after
 * its engine would otherwise clean up a handle pointing at a freed share). Both are a few stores
 * inside libcurl.
 */
CURLcode hy3d_handle_join(hy3d_engine *eng, CURL *e) {
  if (eng->share == NULL) return CURLE_OK;
  return curl_easy_setopt(e, CURLOPT_SHARE, eng->share);
}

void hy3d_handle_leave(CURL *e) {
  (void)curl_easy_setopt(e, CURLOPT_SHARE, (CURLSH *)NULL);
}

/* Frees the share (engine:close, after every transfer left it). */
void hy3d_share_free(hy3d_engine *eng) {
  if (eng->share != NULL && curl_share_cleanup(eng->share) == CURLSHE_OK) eng->share = NULL;
}
