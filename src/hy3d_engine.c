/* hy3d_engine.c — a client's transfer engine, pure transport: the curl multi handle, attach/detach, the completion list, wait/step/timeout/pending/pollfd, close, new, and the generic engine:request and engine:download; no route, body or action (lua/hy3d/doors.lua). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#define HY3D_EPOLL 1
#endif

#include "hy3d.h"

hy3d_engine *hy3d_checkengine(lua_State *L, int idx) {
  hy3d_engine *eng = (hy3d_engine *)luaL_checkudata(L, idx, HY3D_ENGINE_MT);
  if (eng->multi == NULL) luaL_error(L, "attempt to use a closed hy3d.Engine");
  return eng;
}

/* ===== attaching requests ===== */

/*
 * Puts the request at reqidx on the engine at engidx: anchors it in the engine's user value (so a
 * request nobody holds still completes), records the engine in the request's user value (so the
 * engine outlives it), links it and hands it to libcurl.
 */
void hy3d_engine_attach(lua_State *L, int engidx, int reqidx) {
  hy3d_engine *eng = (hy3d_engine *)lua_touserdata(L, engidx);
  hy3d_request *r = (hy3d_request *)lua_touserdata(L, reqidx);
  CURLMcode mc = hy3d_handle_join(eng, r->easy) == CURLE_OK ? curl_multi_add_handle(eng->multi, r->easy)
                                                             : CURLM_OUT_OF_MEMORY;
  if (mc != CURLM_OK) {
    hy3d_handle_leave(r->easy);
    hy3d_request_cancel(r);
    luaL_error(L, "hy3d: curl_multi_add_handle: %s", curl_multi_strerror(mc));
  }
  hy3d_getuservalue(L, engidx);                 /* anchors */
  lua_pushlightuserdata(L, (void *)r);
  lua_pushvalue(L, reqidx);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  hy3d_getuservalue(L, reqidx);
  lua_pushvalue(L, engidx);
  lua_setfield(L, -2, "engine");
  lua_pop(L, 1);
  r->engine = eng;
  r->state = HY3D_REQ_RUNNING;
  r->prev = NULL;
  r->next = eng->inflight;
  if (eng->inflight != NULL) eng->inflight->prev = r;
  eng->inflight = r;
  eng->ninflight++;
  /*
   * libcurl's connection cache (connections in use and idle ones) holds at least 256, and twice
   * the most transfers this engine ran at once: the jobs of a burst find their connections again
   * when they next poll. libcurl's default is 4x the transfers attached when one ends, so with
   * many jobs between polls (few transfers attached) it closed their connections and each poll
   * connected again (on loopback a connect costs ~100 us of this thread, more than a query).
   */
  if (2L * eng->ninflight > eng->maxconnects) {
    eng->maxconnects = 2L * eng->ninflight;
    curl_multi_setopt(eng->multi, CURLMOPT_MAXCONNECTS, eng->maxconnects);
  }
}

/* ===== the armed polls: a binary min-heap on poll_due (r->armed is a request's place + 1) ===== */

static void armed_set(hy3d_engine *eng, int i, hy3d_request *r) {
  eng->armed[i] = r;
  r->armed = i + 1;
}

/* Moves the entry at i up or down to where its poll_due belongs. */
static void armed_fix(hy3d_engine *eng, int i) {
  hy3d_request *r = eng->armed[i];
  while (i > 0 && eng->armed[(i - 1) / 2]->poll_due > r->poll_due) {
    armed_set(eng, i, eng->armed[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  for (;;) {
    int c = 2 * i + 1;
    if (c >= eng->narmed) break;
    if (c + 1 < eng->narmed && eng->armed[c + 1]->poll_due < eng->armed[c]->poll_due) c++;
    if (eng->armed[c]->poll_due >= r->poll_due) break;
    armed_set(eng, i, eng->armed[c]);
    i = c;
  }
  armed_set(eng, i, r);
}

/* Adds r: 0, or -1 when out of memory (r is then not armed). */
static int armed_add(hy3d_engine *eng, hy3d_request *r) {
  if (eng->narmed == eng->armed_cap) {
    int cap = eng->armed_cap > 0 ? 2 * eng->armed_cap : 64;
    hy3d_request **a = (hy3d_request **)realloc(eng->armed, (size_t)cap * sizeof *a);
    if (a == NULL) return -1;
    eng->armed = a;
    eng->armed_cap = cap;
  }
  armed_set(eng, eng->narmed++, r);
  armed_fix(eng, eng->narmed - 1);
  return 0;
}

/* Takes r (armed) out. */
static void armed_remove(hy3d_engine *eng, hy3d_request *r) {
  int i = r->armed - 1;
  hy3d_request *last = eng->armed[--eng->narmed];
  r->armed = 0;
  if (last != r) {
    armed_set(eng, i, last);
    armed_fix(eng, i);
  }
}

/*
 * Takes a request off its engine (engine userdata at engidx) and drops the engine's anchor.
 * The exception to the layers: hy3d_request.c's release calls it (back up), as Lua-cURL's
 * lcurl__multi_remove_handle; the double underscore marks it.
 */
void hy3d__engine_detach(lua_State *L, int engidx, hy3d_request *r) {
  hy3d_engine *eng = r->engine;
  if (eng == NULL) return;
  if (eng->multi != NULL) curl_multi_remove_handle(eng->multi, r->easy);
  hy3d_handle_leave(r->easy);                   /* the share is used only on the multi handle */
  if (r->prev != NULL) r->prev->next = r->next; else eng->inflight = r->next;
  if (r->next != NULL) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  r->engine = NULL;
  eng->ninflight--;
  if (r->armed) armed_remove(eng, r);
  hy3d_getuservalue(L, engidx);
  lua_pushlightuserdata(L, (void *)r);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/*
 * Lets libcurl act on what is due. With an epoll set (Linux) this is the event-driven
 * curl_multi_socket_action: on expired timers (`timers`), or on just the sockets epoll reports
 * ready, first waiting up to wait_ms for one (the wait and the events are one epoll_wait), so an
 * idle engine with hundreds of transfers costs a few microseconds. Elsewhere the timer round is
 * curl_multi_perform and the socket round curl_multi_poll then curl_multi_perform when it waits.
 */
static CURLMcode engine_act(hy3d_engine *eng, int timers, long wait_ms) {
  int running = 0;
#if defined(HY3D_EPOLL)
  if (eng->epfd >= 0) {
    struct epoll_event evs[64];
    long ms = -1;
    int n, i;
    CURLMcode mc = CURLM_OK;
    if (timers) {
      curl_multi_timeout(eng->multi, &ms);
      return ms == 0 ? curl_multi_socket_action(eng->multi, CURL_SOCKET_TIMEOUT, 0, &running) : CURLM_OK;
    }
    do {
      n = epoll_wait(eng->epfd, evs, 64, wait_ms > INT_MAX ? INT_MAX : (int)wait_ms);   /* EINTR: n < 0 */
      wait_ms = 0;
      for (i = 0; i < n && mc == CURLM_OK; i++) {
        int mask = 0;
        if (evs[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
        mc = curl_multi_socket_action(eng->multi, evs[i].data.fd, mask, &running);
      }
    } while (n == 64 && mc == CURLM_OK);
    return mc;
  }
#endif
  if (!timers && wait_ms > 0) {
    CURLMcode mc = curl_multi_poll(eng->multi, NULL, 0, wait_ms > INT_MAX ? INT_MAX : (int)wait_ms, NULL);
    if (mc != CURLM_OK) return mc;
  }
  return timers || wait_ms > 0 ? curl_multi_perform(eng->multi, &running) : CURLM_OK;
}

/* Most finished requests kept for engine:completed() between two calls; past it, "overflow". */
#define HY3D_MAX_COMPLETED 4096

/*
 * Appends the finished request r (still anchored) to the engine's completion list, the user
 * value's "done" field, once a scheduler has asked for it with engine:completed().
 */
static void note_completed(lua_State *L, int engidx, hy3d_engine *eng, hy3d_request *r) {
  size_t n;
  if (!eng->collect) return;
  hy3d_getuservalue(L, engidx);                 /* anchors */
  lua_pushlightuserdata(L, (void *)r);
  lua_rawget(L, -2);                            /* anchors, request */
  lua_getfield(L, -2, "done");                  /* anchors, request, list|nil */
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, "done");
  }
  n = lua_rawlen(L, -1);
  if (n >= HY3D_MAX_COMPLETED) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "overflow");
  } else {
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (int)n + 1);
  }
  lua_pop(L, 3);
}

/* ===== engine:poll's timer: requests re-sent while their answer says "still running" ===== */

/* Pushes the request r of the engine at engidx (from its anchors). */
static void push_anchored(lua_State *L, int engidx, hy3d_request *r) {
  hy3d_getuservalue(L, engidx);
  lua_pushlightuserdata(L, (void *)r);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

/*
 * Takes the poll request r off the multi handle (it stays in inflight, anchored) until r->poll_due:
 * 1, or 0 when there was no memory to arm it (it stays as it was).
 */
static int poll_arm(hy3d_engine *eng, hy3d_request *r) {
  if (armed_add(eng, r) != 0) return 0;
  curl_multi_remove_handle(eng->multi, r->easy);
  return 1;
}

/*
 * A poll request libcurl just finished (result): 1 when hy3d_poll_again says it is still running
 * and unchanged, and it is armed for its next send; 0 when it surfaces like any request.
 */
static int poll_rearm(lua_State *L, int engidx, hy3d_engine *eng, hy3d_request *r, CURLcode result) {
  int again;
  hy3d_request_finish(r, result);
  push_anchored(L, engidx, r);
  again = hy3d_poll_again(L, -1, r);
  lua_pop(L, 1);
  if (!again) return 0;
  if (!poll_arm(eng, r)) return 0;              /* no memory to arm it: it surfaces, Lua polls again */
  r->state = HY3D_REQ_RUNNING;
  return 1;
}

static long long sign_time(lua_State *L);

/* Seconds early a poll may be sent: polls due within it go out in the same round (fewer wake-ups). */
#define HY3D_POLL_SLACK 0.001

/* Sends again every armed poll request that is due (signed anew): the heap's top, while it is due. */
static void poll_fire_due(lua_State *L, int engidx, hy3d_engine *eng) {
  double now;
  if (eng->narmed == 0) return;
  now = hy3d_now() + HY3D_POLL_SLACK;
  while (eng->narmed > 0 && eng->armed[0]->poll_due <= now) {
    hy3d_request *r = eng->armed[0];
    armed_remove(eng, r);
    push_anchored(L, engidx, r);
    hy3d_poll_reset(L, -1, r, eng->tc3, eng->tc3 != NULL ? sign_time(L) : 0);
    lua_pop(L, 1);
    if (curl_multi_add_handle(eng->multi, r->easy) != CURLM_OK) {   /* surfaces as a failed transfer */
      note_completed(L, engidx, eng, r);
      hy3d__engine_detach(L, engidx, r);
      hy3d_request_finish(r, CURLE_FAILED_INIT);
    }
  }
}

/* Milliseconds until the next armed poll is due (0 when one is), or -1 when none is armed. */
static long poll_wait_ms(hy3d_engine *eng) {
  double left;
  if (eng->narmed == 0) return -1;
  left = eng->armed[0]->poll_due - HY3D_POLL_SLACK - hy3d_now();
  return left <= 0 ? 0 : hy3d_seconds_to_ms(left);
}

/*
 * Lets libcurl act on its timers or on the ready sockets (waiting up to wait_ms for one), then
 * collects every finished transfer.
 */
static void engine_round(lua_State *L, int engidx, hy3d_engine *eng, int timers, long wait_ms) {
  int left = 0;
  CURLMsg *m;
  CURLMcode mc;
  if (timers) poll_fire_due(L, engidx, eng);
  mc = engine_act(eng, timers, wait_ms);
  hy3d_handle_pool_trim(eng);                   /* idle handles unused for a while (cheap when none) */
  if (mc != CURLM_OK) luaL_error(L, "hy3d: curl_multi_socket_action/perform/poll: %s", curl_multi_strerror(mc));
  while ((m = curl_multi_info_read(eng->multi, &left)) != NULL) {
    char *priv = NULL;
    CURLcode result;
    hy3d_request *r;
    if (m->msg != CURLMSG_DONE) continue;
    result = m->data.result;                    /* m is invalid once the handle is removed */
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    r = (hy3d_request *)priv;
    if (r->polling && poll_rearm(L, engidx, eng, r, result)) continue;   /* still running: not surfaced */
    note_completed(L, engidx, eng, r);
    hy3d__engine_detach(L, engidx, r);
    hy3d_request_finish(r, result);
  }
}

/* How long a wait of `seconds` may block before libcurl's next timer is due, in ms (>= 0). */
static long engine_wait_ms(hy3d_engine *eng, double seconds) {
  long ms = hy3d_seconds_to_ms(seconds), timer = -1, due = poll_wait_ms(eng);
  curl_multi_timeout(eng->multi, &timer);
  if (timer >= 0 && timer < ms) ms = timer;
  if (due >= 0 && due < ms) ms = due;
  return ms;
}

/* ===== one pollable fd for event loops ===== */

#if defined(HY3D_EPOLL)
/*
 * CURLMOPT_SOCKETFUNCTION: mirrors libcurl's sockets and the events it wants into the engine's
 * epoll set, so the epoll fd is readable exactly when some transfer needs attention. C only: it
 * never calls Lua and never fails loudly (a failed epoll_ctl only costs promptness; curl's own
 * timeouts still drive the transfer).
 */
static int engine_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  hy3d_engine *eng = (hy3d_engine *)userp;
  struct epoll_event ev;
  (void)easy;
  if (eng->epfd < 0) return 0;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(eng->epfd, EPOLL_CTL_DEL, s, NULL);
    return 0;
  }
  memset(&ev, 0, sizeof ev);
  ev.data.fd = s;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev.events |= EPOLLIN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev.events |= EPOLLOUT;
  /* socketp is set (curl_multi_assign) once the socket is in the set; libcurl forgets it at REMOVE. */
  if (socketp != NULL && epoll_ctl(eng->epfd, EPOLL_CTL_MOD, s, &ev) == 0) return 0;
  if (epoll_ctl(eng->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
    epoll_ctl(eng->epfd, EPOLL_CTL_MOD, s, &ev);
  curl_multi_assign(eng->multi, s, (void *)eng);
  return 0;
}
#endif

/*
 * engine:completed() -> list | nil
 * The requests that finished since the last call (in order; list.overflow is true when more than
 * 4096 did, and some were left out). The first call turns the recording on.
 */
static int engine_completed(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  eng->collect = 1;
  hy3d_getuservalue(L, 1);
  lua_getfield(L, -1, "done");
  lua_pushnil(L);
  lua_setfield(L, -3, "done");
  return 1;
}

/* engine:pollfd() -> fd | nil: readable whenever a transfer needs engine:step (Linux epoll) */
static int engine_pollfd(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  if (eng->epfd < 0) lua_pushnil(L); else lua_pushinteger(L, eng->epfd);
  return 1;
}

/*
 * engine:_pool() -> idle, capacity. Test hook, not public API (spec/unit/pool_spec.lua): the
 * easy handles the pool holds now and the slots of its stack.
 */
static int engine_pool(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  lua_pushinteger(L, eng->nidle);
  lua_pushinteger(L, eng->idle_cap);
  return 2;
}

/* ===== methods ===== */

static long opt_timeout_ms(lua_State *L, int idx) {
  lua_Number t = luaL_optnumber(L, idx, 0);
  luaL_argcheck(L, t >= 0 && t < 1e9, idx, "timeout must be a number of seconds >= 0");
  return hy3d_seconds_to_ms(t);
}

/*
 * The UNIX time to sign with: now, or (test hook, not public API) the integer in tc3._clock.now
 * when core.new was given a tc3._clock table (kept in the user value of the engine at index 1),
 * so a spec can sign on either side of midnight UTC with one engine.
 */
static long long sign_time(lua_State *L) {
  lua_Integer fixed = 0;
  int isnum = 0;
  hy3d_getuservalue(L, 1);                       /* anchors */
  lua_getfield(L, -1, "tc3_clock");              /* anchors, clock|nil */
  if (lua_istable(L, -1)) {
    lua_pushliteral(L, "now");
    lua_rawget(L, -2);                           /* anchors, clock, now */
    fixed = lua_tointegerx(L, -1, &isnum);
    if (isnum && (fixed < 0 || fixed > 253402300799LL))
      luaL_error(L, "hy3d.Engine:request: tc3._clock.now must be a UNIX time (seconds, year 1970..9999)");
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return isnum ? (long long)fixed : (long long)time(NULL);   /* UTC seconds since the epoch */
}

/* Whether target is an absolute http(s) URL (else a path joined to the base URL). */
static int is_absolute(const char *target) {
  return curl_strnequal(target, "http://", 7) || curl_strnequal(target, "https://", 8);
}

/* Whether two URLs share an origin (scheme, host and port, as libcurl parses them); 0 when
 * either does not parse. */
static int same_origin(const char *a, const char *b) {
  static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
  CURLU *ua = curl_url(), *ub = curl_url();
  int same = ua != NULL && ub != NULL && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
             curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK;
  size_t i;
  for (i = 0; same && i < sizeof parts / sizeof parts[0]; i++) {
    char *pa = NULL, *pb = NULL;
    same = curl_url_get(ua, parts[i], &pa, CURLU_DEFAULT_PORT) == CURLUE_OK &&
           curl_url_get(ub, parts[i], &pb, CURLU_DEFAULT_PORT) == CURLUE_OK && curl_strequal(pa, pb);
    curl_free(pa);
    curl_free(pb);
  }
  curl_url_cleanup(ua);
  curl_url_cleanup(ub);
  return same;
}

/*
 * Pushes the base URL joined with the path at idx. The last join is kept in the engine's user value
 * (url_path, url): a client polling one route formats its URL once, not on every query.
 */
static void push_joined_url(lua_State *L, hy3d_engine *eng, int idx) {
  hy3d_getuservalue(L, 1);                       /* anchors */
  lua_getfield(L, -1, "url_path");               /* anchors, path|nil */
  if (lua_rawequal(L, -1, idx)) {
    lua_getfield(L, -2, "url");                  /* anchors, path, url */
    lua_replace(L, -3);
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushfstring(L, "%s%s", eng->base_url, lua_tostring(L, idx));   /* anchors, url */
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "url");
  lua_pushvalue(L, idx);
  lua_setfield(L, -3, "url_path");
  lua_replace(L, -2);                            /* url */
}

/*
 * engine:request(method, target, body, timeout, fresh, action) -> request | nil, err
 * One API request, the only one the engine knows (routes, bodies and actions are the caller's:
 * lua/hy3d/doors.lua). method: "GET" or "POST". target: a path joined to the base URL, or an
 * absolute http(s) URL (the credential goes only to the base URL's origin: another origin gets
 * no Authorization header, and a signed action to it nil, {kind="invalid", code="FOREIGN_ORIGIN"}).
 * body: a table (sent as its JSON encoding), a string (sent as is) or nil
 * (no body). timeout: seconds (nil: the engine's). fresh: a new connection, never one kept alive
 * (for submits, which must never be sent twice). action: nil, or an action name letters and
 * digits: the request is then signed with TC3-HMAC-SHA256 at the current time (X-TC-Action; only
 * on an engine made with tc3 credentials); without one the engine's authorization header is sent
 * when it has one. The body is anchored in the request and read in place by libcurl.
 */
static int engine_request(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  size_t mlen;
  const char *method = luaL_checklstring(L, 2, &mlen);
  const char *target, *action = NULL, *payload = NULL, *url;
  size_t tlen, len = 0;
  long tmo;
  int get, fresh, btype, reqidx, foreign;
  hy3d_request *r;
  CURLcode rc;
  if (mlen == 4 && memcmp(method, "POST", 4) == 0) get = 0;   /* by length: "GET\0x" is no method */
  else if (mlen == 3 && memcmp(method, "GET", 3) == 0) get = 1;
  else return luaL_argerror(L, 2, "the method is \"GET\" or \"POST\"");
  luaL_checktype(L, 3, LUA_TSTRING);
  target = lua_tolstring(L, 3, &tlen);
  if (strlen(target) != tlen || strpbrk(target, "\r\n") != NULL)
    return luaL_argerror(L, 3, "the target holds a line break or NUL");
  btype = lua_type(L, 4);
  luaL_argcheck(L, btype == LUA_TTABLE || btype == LUA_TSTRING || btype == LUA_TNIL || btype == LUA_TNONE, 4,
                "the body is a table (sent as JSON), a string or nil");
  tmo = opt_timeout_ms(L, 5);
  fresh = lua_toboolean(L, 6);
  if (!lua_isnoneornil(L, 7)) {
    const char *p;
    action = luaL_checkstring(L, 7);
    if (eng->tc3 == NULL) return luaL_error(L, "hy3d.Engine:request: this engine has no API 3.0 credentials");
    for (p = action; *p; p++)
      if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) break;
    if (*p != '\0' || p == action) return luaL_argerror(L, 7, "an action name is letters and digits");
  }
  lua_settop(L, 7);
  if (btype == LUA_TTABLE) {
    if (!hy3d_json_encode(L, 4)) {
      lua_pushfstring(L, "the parameters cannot be sent as JSON: %s", lua_tostring(L, -1));
      lua_pushnil(L);
      hy3d_push_error(L, "invalid", "JSON_ENCODE", lua_tostring(L, -2));
      return 2;
    }
    lua_replace(L, 4);                           /* the JSON text is the body */
  }
  if (!lua_isnil(L, 4)) payload = lua_tolstring(L, 4, &len);
  foreign = is_absolute(target) && !same_origin(eng->base_url, target);
  if (foreign && action != NULL) {               /* a signature is for the service's origin only */
    lua_pushnil(L);
    hy3d_push_error(L, "invalid", "FOREIGN_ORIGIN",
                    "a signed request goes only to the origin of the client's endpoint");
    return 2;
  }
  if (is_absolute(target)) lua_pushvalue(L, 3);
  else push_joined_url(L, eng, 3);              /* 8: the URL (libcurl copies it) */
  url = lua_tostring(L, 8);
  r = hy3d_request_new(L, eng, HY3D_KIND_API);   /* 9 */
  reqidx = 9;
  if (action != NULL) {
    long long ts = sign_time(L);
    char *host = is_absolute(target) ? hy3d_url_host(target) : NULL;   /* the Host an absolute URL sends */
    r->headers = hy3d_tc3_headers(L, eng->tc3, host != NULL ? host : eng->tc3->host, action,
                                  payload != NULL ? payload : "", len, ts);
    free(host);
    if (r->headers == NULL) return luaL_error(L, "hy3d.Engine:request: out of memory");
  }
  if (payload != NULL) {
    hy3d_getuservalue(L, reqidx);                /* the body stays while libcurl may read it */
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "body");
    lua_pop(L, 1);
  }
  rc = hy3d_handle_prepare(r, url, tmo > 0 ? tmo : eng->timeout_ms);
  if (get) {
    rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
  } else {
    rc |= curl_easy_setopt(r->easy, CURLOPT_POST, 1L);   /* the handle may have carried a GET */
    rc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, payload != NULL ? payload : "");
    rc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER,
                         r->headers != NULL ? r->headers : foreign ? eng->plain_headers : eng->api_headers);
  rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, (void *)r);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, (void *)r);
  /*
   * A fresh request (a submit) goes on a new connection: libcurl silently sends a request again
   * when a reused connection dies before any response byte (Curl_retry_request in lib/transfer.c
   * retries on any reused connection with no byte received, a multiplexed HTTP/2 one too: its test
   * is conn->bits.reuse, not the protocol), and a second submit is a second job. Over TLS the new
   * connection resumes the session of an earlier one (the engine's share handle): a TCP connect and
   * an abbreviated handshake, not a full one. Set either way: the handle may have carried a fresh
   * request before.
   */
  rc |= curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
  if (rc != CURLE_OK) {
    lua_pushnil(L);
    hy3d_push_error(L, "network", "FAILED_INIT", "could not set up the request (out of memory?)");
    return 2;                                   /* the unused request is left to __gc */
  }
  hy3d_engine_attach(L, 1, reqidx);             /* the next wait or step starts it */
  lua_settop(L, reqidx);
  return 1;
}

/*
 * engine:poll(method, target, body, timeout, action, spec) -> request | nil, err
 * engine:request's request (never on a fresh connection) that the engine itself sends again,
 * every spec.interval seconds, while its answer is "still running": a 2xx JSON answer whose value
 * at spec.path (a list of field names inside the envelope's root) is one of spec.running (compared
 * upper-cased) and whose values at each of spec.watch (field paths) equal spec.last's (strings
 * upper-cased). Anything else completes it like any request (so a task, a blocking wait, update()
 * or an adapter waits on it as on engine:request's): an error, an undecodable answer, a missing or
 * other value, a change, or a next send that would come at or after spec.deadline (core.now's
 * clock). spec.delay: seconds before the first send (default 0). A signed request is signed anew
 * at every send. The field names and values are the caller's data (hy3d.doors): the core knows none.
 */
static int engine_poll(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  hy3d_request *r;
  double delay;
  int i;
  luaL_checktype(L, 7, LUA_TTABLE);
  lua_settop(L, 7);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushcclosure(L, engine_request, HY3D_NUPVALUES);   /* 8: engine:request with the same upvalues */
  for (i = 1; i <= 5; i++) lua_pushvalue(L, i);
  lua_pushboolean(L, 0);                         /* never fresh: a query, not a submit */
  lua_pushvalue(L, 6);
  lua_call(L, 7, 2);                             /* 8: request|nil, 9: nil|err */
  if (lua_isnil(L, 8)) return 2;
  lua_pop(L, 1);
  r = hy3d_checkrequest(L, 8);
  r->timeout_ms = opt_timeout_ms(L, 5) > 0 ? opt_timeout_ms(L, 5) : eng->timeout_ms;   /* each send's limit */
  hy3d_poll_setup(L, 8, 7, r);
  hy3d_getuservalue(L, 8);
  lua_pushvalue(L, 6);
  lua_setfield(L, -2, "action");
  if (is_absolute(lua_tostring(L, 3))) {
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "url");
  }
  lua_pop(L, 1);
  lua_getfield(L, 7, "delay");
  delay = lua_isnumber(L, -1) ? (double)lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  if (delay > 0 && delay < 1e9) {                /* not sent yet: wait for its time, off the multi handle */
    r->poll_due = hy3d_now() + delay;
    (void)poll_arm(eng, r);                      /* no memory to arm it: it is sent now instead */
  }
  lua_settop(L, 8);
  return 1;
}

/* opts[name] as a number >= 0 (0 when opts or the field is nil). */
static lua_Number opt_field_number(lua_State *L, int t, const char *name) {
  lua_Number v;
  if (lua_isnoneornil(L, t)) return 0;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return 0; }
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "download option '%s' must be a number", name);
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0 && v < 9e15)) luaL_error(L, "download option '%s' must be >= 0", name);
  return v;
}

/* opts[name] as a number >= 0, or dflt when opts or the field is nil. */
static lua_Number opt_field_default(lua_State *L, int t, const char *name, lua_Number dflt) {
  if (lua_isnoneornil(L, t)) return dflt;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return dflt;
  }
  lua_pop(L, 1);
  return opt_field_number(L, t, name);
}

/*
 * engine:download(url, path [, {timeout=, stall=, min_rate=, min_avg_rate=, max_bytes=, resume=,
 *                              meta=, allow_http=, body=}]) -> request | nil, err
 * timeout: total seconds (default none); stall: the low-speed window in seconds (default the
 * engine's timeout); min_rate: bytes/s the transfer must keep over that window (default 4096;
 * 0: only a window without a byte aborts); min_avg_rate: once the size is known the download must
 * end by stall + size / min_avg_rate seconds (default 1024; 0: no ceiling); max_bytes: refuse
 * larger files (default none); resume: continue the file at path with a Range request instead of
 * truncating it; meta: the sidecar of a validated resume (If-Range, the size checked; a partial
 * file without it is started over); allow_http: follow an https link redirected to plain http;
 * body: a JSON text to POST instead of a GET, its answer being the file (a synchronous job).
 * A path or URL holding a NUL gives nil, {kind="invalid", code="BAD_PATH"}.
 */
static int engine_download(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  hy3d_download_opts o;
  long stall_ms;
  hy3d_request *r;
  memset(&o, 0, sizeof o);
  luaL_checktype(L, 2, LUA_TSTRING);
  luaL_checktype(L, 3, LUA_TSTRING);
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  o.url = hy3d_checkpath(L, 2);
  o.path = hy3d_checkpath(L, 3);
  o.timeout_ms = hy3d_seconds_to_ms(opt_field_number(L, 4, "timeout"));
  stall_ms = hy3d_seconds_to_ms(opt_field_number(L, 4, "stall"));
  if (stall_ms == 0) stall_ms = eng->timeout_ms;
  o.stall_s = stall_ms / 1000 + (stall_ms % 1000 != 0);     /* whole seconds, rounded up */
  o.min_rate = (long)opt_field_default(L, 4, "min_rate", HY3D_DOWNLOAD_MIN_RATE);
  o.min_avg_rate = (double)opt_field_default(L, 4, "min_avg_rate", HY3D_DOWNLOAD_MIN_AVG_RATE);
  o.max_bytes = (curl_off_t)opt_field_number(L, 4, "max_bytes");
  if (lua_istable(L, 4)) {
    lua_getfield(L, 4, "resume");
    o.resume = lua_toboolean(L, -1);
    lua_getfield(L, 4, "allow_http");
    o.allow_http = lua_toboolean(L, -1);
    lua_getfield(L, 4, "body");
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "download option 'body' must be a string");
      o.body = lua_tolstring(L, -1, &o.body_len);   /* stays anchored: opts holds it */
    }
    lua_pop(L, 1);
    lua_getfield(L, 4, "meta");
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "download option 'meta' must be a string");
      o.meta = hy3d_checkpath(L, -1);             /* stays anchored: opts holds it */
      if (o.meta == NULL) {
        hy3d_push_path_error(L, "download's sidecar path");
        return 2;
      }
    }
    lua_pop(L, 3);
  }
  if (o.url == NULL || o.path == NULL) {
    hy3d_push_path_error(L, o.url == NULL ? "download URL" : "download path");
    return 2;
  }
  lua_settop(L, 4);
  r = hy3d_request_new(L, eng, HY3D_KIND_FILE);
  if (!hy3d_download_setup(L, eng, r, &o))
    return 2;                                   /* the unused request is left to __gc */
  hy3d_engine_attach(L, 1, 5);
  return 1;
}

/*
 * engine:wait(request [, seconds]) -> done
 * Drives the engine until the request completes or `seconds` pass (nil or negative: until it
 * completes; API requests have a libcurl timeout, downloads a stall limit). wait(req, 0) never
 * blocks.
 */
static int engine_wait(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  hy3d_request *r = hy3d_checkrequest(L, 2);
  lua_Number secs = luaL_optnumber(L, 3, -1);
  luaL_argcheck(L, secs == secs && secs < 1e9, 3, "seconds must be a number (negative: no limit)");
  double deadline = secs >= 0 ? hy3d_now() + secs : -1;
  if (r->state == HY3D_REQ_IDLE) return luaL_error(L, "hy3d.Engine:wait: the request was never started");
  if (r->state == HY3D_REQ_RUNNING && r->engine != eng)
    return luaL_error(L, "hy3d.Engine:wait: the request belongs to another engine");
  for (;;) {
    double left;
    engine_round(L, 1, eng, 1, 0);              /* due timers: new transfers start here */
    /* A request on a reused connection often completes right here: looking at the sockets
     * would be one more system call for nothing. */
    if (r->state == HY3D_REQ_DONE) break;
    left = deadline < 0 ? 3600.0 : deadline - hy3d_now();
    engine_round(L, 1, eng, 0, left > 0 ? engine_wait_ms(eng, left) : 0);   /* sockets, waiting for one */
    if (r->state == HY3D_REQ_DONE || left <= 0) break;
  }
  lua_pushboolean(L, r->state == HY3D_REQ_DONE);
  return 1;
}

/*
 * engine:step([seconds]) -> in_flight
 * Does all due work; with seconds > 0 first waits up to that long for activity (a sleep that
 * wakes early when a transfer needs attention).
 */
static int engine_step(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  lua_Number secs = luaL_optnumber(L, 2, 0);
  luaL_argcheck(L, secs >= 0 && secs < 1e9, 2, "seconds must be a finite number >= 0");
  engine_round(L, 1, eng, 1, 0);
  engine_round(L, 1, eng, 0, secs > 0 ? engine_wait_ms(eng, secs) : 0);
  if (secs > 0) engine_round(L, 1, eng, 1, 0);  /* timers that came due while it waited */
  lua_pushinteger(L, eng->ninflight);
  return 1;
}

/* engine:timeout() -> seconds until libcurl wants attention, or nil when it has no timer */
static int engine_timeout(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  long ms = -1, due = poll_wait_ms(eng);
  curl_multi_timeout(eng->multi, &ms);
  if (due >= 0 && (ms < 0 || due < ms)) ms = due;
  if (ms < 0) lua_pushnil(L); else lua_pushnumber(L, (lua_Number)ms / 1000.0);
  return 1;
}

/* engine:pending() -> number of requests in flight */
static int engine_pending(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  lua_pushinteger(L, eng->ninflight);
  return 1;
}

/* The one release shared by close, __gc and __close: idempotent; cancels what is in flight. */
static int engine_close(lua_State *L) {
  hy3d_engine *eng = (hy3d_engine *)luaL_checkudata(L, 1, HY3D_ENGINE_MT);
  while (eng->inflight != NULL) {
    hy3d_request *r = eng->inflight;
    hy3d__engine_detach(L, 1, r);
    hy3d_request_cancel(r);
  }
  if (eng->multi != NULL) {
    curl_multi_cleanup(eng->multi);
    eng->multi = NULL;
  }
  hy3d_handle_pool_free(eng);
  free(eng->armed);                             /* empty: every armed request was detached above */
  eng->armed = NULL;
  eng->armed_cap = 0;
  hy3d_share_free(eng);                         /* every transfer left it above */
#if defined(HY3D_EPOLL)
  if (eng->epfd >= 0) close(eng->epfd);
#endif
  eng->epfd = -1;
  hy3d_slist_wipe(eng->api_headers);           /* holds the credential */
  eng->api_headers = NULL;
  curl_slist_free_all(eng->plain_headers);
  eng->plain_headers = NULL;
  free(eng->base_url);
  eng->base_url = NULL;
  free(eng->user_agent);
  eng->user_agent = NULL;
  free(eng->ca_file);
  free(eng->ca_path);
  eng->ca_file = eng->ca_path = NULL;
  hy3d_tc3_cfg_free(eng->tc3);                  /* wipes the key, the token and the day's signing key */
  eng->tc3 = NULL;
  lua_pushboolean(L, 1);
  return 1;
}

static int engine_tostring(lua_State *L) {
  hy3d_engine *eng = (hy3d_engine *)luaL_checkudata(L, 1, HY3D_ENGINE_MT);
  if (eng->multi == NULL) lua_pushliteral(L, "hy3d.Engine (closed)");
  else lua_pushfstring(L, "hy3d.Engine (%s, %d in flight)", eng->base_url, eng->ninflight);
  return 1;
}

/* ===== construction ===== */

static long seconds_field_ms(lua_State *L, int t, const char *name, long dflt) {
  lua_Number v;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return dflt; }
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "hy3d.core.new: '%s' must be a number", name);
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v > 0 && v < 1e9)) luaL_error(L, "hy3d.core.new: '%s' must be > 0", name);
  return hy3d_seconds_to_ms(v);
}

/* pool_idle: seconds an unused idle easy handle is kept (>= 0; default HY3D_POOL_IDLE_S). */
static double pool_idle_field(lua_State *L, int t) {
  lua_Number v;
  lua_getfield(L, t, "pool_idle");
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return HY3D_POOL_IDLE_S; }
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "hy3d.core.new: 'pool_idle' must be a number");
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0 && v < 1e9)) luaL_error(L, "hy3d.core.new: 'pool_idle' must be >= 0");
  return (double)v;
}

/*
 * Reads the tc3 = { secret_id=, secret_key=, token=, region=, version=, language=, service= } table
 * at t into the engine's one hy3d_tc3_cfg (hy3d_sign.c). Test hook (not public API): tc3._clock,
 * a table kept in the user value of the engine at engidx (see sign_time).
 */
static void engine_tc3(lua_State *L, hy3d_engine *eng, int engidx, int t) {
  lua_getfield(L, t, "_clock");
  if (!lua_isnil(L, -1)) {
    if (!lua_istable(L, -1)) luaL_error(L, "hy3d.core.new: tc3 '_clock' must be a table");
    hy3d_getuservalue(L, engidx);                /* _clock, anchors */
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "tc3_clock");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  hy3d_tc3_cfg_new(L, t, eng->base_url, &eng->tc3);
}

/*
 * Reads the envelope = { root=, error=, code=, message=, request_id=, http_error= } table at t:
 * the field names the response classifier reads (hy3d_result.c), from hy3d.doors. Absent ones
 * (or no table) skip their step.
 */
static void engine_envelope(lua_State *L, hy3d_envelope *env, int t) {
  static const char *const names[] = {"root", "error", "code", "message", "request_id", "http_error", NULL};
  char *const slots[] = {env->root, env->error, env->code, env->message, env->request_id, env->http_error};
  int i;
  for (i = 0; names[i] != NULL; i++) {
    size_t len;
    const char *v;
    lua_getfield(L, t, names[i]);
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "hy3d.core.new: envelope '%s' must be a string", names[i]);
      v = lua_tolstring(L, -1, &len);
      if (len >= HY3D_NAME_MAX || strlen(v) != len)
        luaL_error(L, "hy3d.core.new: envelope '%s' is too long or holds a NUL", names[i]);
      memcpy(slots[i], v, len + 1);
    }
    lua_pop(L, 1);
  }
}

/* The headers of every API request but the credential (NULL when out of memory). */
static struct curl_slist *plain_headers(void) {
  static const char *const lines[] = {"Content-Type: application/json", "Accept: application/json", "Expect:"};
  struct curl_slist *list = NULL, *t;
  size_t i;
  for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    if ((t = curl_slist_append(list, lines[i])) == NULL) {
      curl_slist_free_all(list);
      return NULL;
    }
    list = t;
  }
  return list;
}

/*
 * core.new{ base_url=, authorization=, tc3=, envelope=, user_agent=, timeout=, connect_timeout=, stall=,
 *           ca_file=, ca_path=, insecure=, share=, pool_idle= } -> engine
 * authorization: the Authorization value of unsigned requests; tc3: API 3.0 credentials (see
 * engine_tc3); envelope: the field names of the service's answers (see engine_envelope);
 * pool_idle: seconds an idle easy handle nobody took is kept (default 30; see hy3d_handle.c).
 * share: false for no share handle (TLS sessions not resumed across connections: only for the
 * benchmark that compares with it).
 * The userdata is created closed and only then acquires its multi handle and strings, so an
 * error half-way leaves an object __gc can release.
 */
static int engine_new(lua_State *L) {
  hy3d_engine *eng;
  char *auth;
  size_t n;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  eng = (hy3d_engine *)hy3d_newuserdata(L, sizeof *eng);
  memset(eng, 0, sizeof *eng);
  eng->epfd = -1;
  luaL_getmetatable(L, HY3D_ENGINE_MT);
  lua_setmetatable(L, 2);
  lua_newtable(L);                              /* anchors of in-flight requests */
  hy3d_setuservalue(L, 2);
  eng->multi = curl_multi_init();
  if (eng->multi == NULL) return luaL_error(L, "hy3d: curl_multi_init failed (out of memory?)");
  eng->maxconnects = HY3D_MIN_CACHED_CONNECTIONS;
  curl_multi_setopt(eng->multi, CURLMOPT_MAXCONNECTS, eng->maxconnects);
  lua_getfield(L, 1, "share");
  if (!(lua_isboolean(L, -1) && !lua_toboolean(L, -1))) eng->share = hy3d_share_new();
  lua_pop(L, 1);
#if defined(HY3D_EPOLL)
  eng->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (eng->epfd >= 0) {
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETFUNCTION, engine_socket_cb);
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETDATA, (void *)eng);
  }
#endif
  eng->timeout_ms = seconds_field_ms(L, 1, "timeout", 60000L);
  eng->connect_timeout_ms = seconds_field_ms(L, 1, "connect_timeout", 10000L);
  eng->base_url = hy3d_dup_field(L, 1, "base_url", 1);
  n = strlen(eng->base_url);
  while (n > 0 && eng->base_url[n - 1] == '/') eng->base_url[--n] = '\0';
  eng->user_agent = hy3d_dup_field(L, 1, "user_agent", 0);
  eng->ca_file = hy3d_dup_field(L, 1, "ca_file", 0);
  eng->ca_path = hy3d_dup_field(L, 1, "ca_path", 0);
  lua_getfield(L, 1, "insecure");
  eng->insecure = lua_toboolean(L, -1);
  lua_pop(L, 1);
  eng->idle_s = pool_idle_field(L, 1);
  eng->stall_s = seconds_field_ms(L, 1, "stall", 0L);
  eng->stall_s = eng->stall_s / 1000 + (eng->stall_s % 1000 != 0);     /* whole seconds, rounded up */
  eng->api_headers = plain_headers();
  eng->plain_headers = plain_headers();
  if (eng->api_headers == NULL || eng->plain_headers == NULL) return luaL_error(L, "hy3d.core.new: out of memory");
  auth = hy3d_dup_field(L, 1, "authorization", 0);
  if (auth != NULL) {
    size_t len = strlen(auth) + sizeof "Authorization: ";
    char *line = (char *)malloc(len);
    struct curl_slist *ok = NULL;
    if (line != NULL) {
      memcpy(line, "Authorization: ", sizeof "Authorization: " - 1);
      memcpy(line + sizeof "Authorization: " - 1, auth, strlen(auth) + 1);
      ok = curl_slist_append(eng->api_headers, line);
      memset(line, 0, len);
      free(line);
    }
    memset(auth, 0, strlen(auth));
    free(auth);
    if (ok == NULL) return luaL_error(L, "hy3d.core.new: out of memory");
  }
  lua_getfield(L, 1, "envelope");
  if (lua_istable(L, -1)) engine_envelope(L, &eng->envelope, lua_gettop(L));
  else if (!lua_isnil(L, -1)) return luaL_error(L, "hy3d.core.new: 'envelope' must be a table");
  lua_pop(L, 1);
  lua_getfield(L, 1, "tc3");
  if (lua_istable(L, -1)) engine_tc3(L, eng, 2, lua_gettop(L));   /* the engine is at 2 */
  else if (!lua_isnil(L, -1)) return luaL_error(L, "hy3d.core.new: 'tc3' must be a table");
  lua_pop(L, 1);
  return 1;
}

static const luaL_Reg engine_methods[] = {
  {"request", engine_request},
  {"poll", engine_poll},
  {"download", engine_download},
  {"wait", engine_wait},
  {"step", engine_step},
  {"timeout", engine_timeout},
  {"pending", engine_pending},
  {"pollfd", engine_pollfd},
  {"completed", engine_completed},
  {"_pool", engine_pool},
  {"close", engine_close},
  {NULL, NULL}
};

static const luaL_Reg engine_meta[] = {
  {"__gc", engine_close},
  {"__close", engine_close},
  {"__tostring", engine_tostring},
  {NULL, NULL}
};

const luaL_Reg hy3d_engine_funcs[] = {
  {"new", engine_new},
  {NULL, NULL}
};

/* Registers the hy3d.Engine metatable. Expects the module upvalues on top; leaves the stack as it was. */
int hy3d_engine_open(lua_State *L) {
  hy3d_newclass(L, HY3D_ENGINE_MT, engine_methods, engine_meta);
  return 0;
}
