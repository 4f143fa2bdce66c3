/* hy3d_engine.c — a client's transfer engine: one curl multi handle, its in-flight requests, and non-blocking or efficiently blocking progress. */
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
  CURLMcode mc = curl_multi_add_handle(eng->multi, r->easy);
  if (mc != CURLM_OK) {
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

/*
 * An easy handle for a new request: for API calls one the engine kept from an earlier call when
 * it has one (set up already; curl_easy_init allocates and fills a large handle, and setting the
 * engine's options again costs as much), else a new one. NULL when out of memory.
 */
CURL *hy3d_engine_handle(hy3d_engine *eng, int kind) {
  if (kind != HY3D_KIND_API) return curl_easy_init();
  if (eng->nidle > 0) return eng->idle[--eng->nidle];
  return hy3d_api_handle_new(eng);
}

/*
 * Takes back the easy handle of a finished or closed request (no longer on the multi handle).
 * An API request's handle loses everything that points into the request and is kept while the
 * engine is open and its pool has room; any other is cleaned up. Download handles are not kept:
 * their receive buffer is large and downloads are few.
 */
void hy3d_engine_recycle(hy3d_engine *eng, CURL *easy, int kind) {
  if (kind == HY3D_KIND_API && eng != NULL && eng->multi != NULL && eng->nidle < HY3D_POOL_MAX) {
    hy3d_api_handle_release(easy);
    eng->idle[eng->nidle++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

/* Takes a request off its engine (engine userdata at engidx) and drops the engine's anchor. */
void hy3d_engine_detach(lua_State *L, int engidx, hy3d_request *r) {
  hy3d_engine *eng = r->engine;
  if (eng == NULL) return;
  if (eng->multi != NULL) curl_multi_remove_handle(eng->multi, r->easy);
  if (r->prev != NULL) r->prev->next = r->next; else eng->inflight = r->next;
  if (r->next != NULL) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  r->engine = NULL;
  eng->ninflight--;
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

/*
 * Lets libcurl act on its timers or on the ready sockets (waiting up to wait_ms for one), then
 * collects every finished transfer.
 */
static void engine_round(lua_State *L, int engidx, hy3d_engine *eng, int timers, long wait_ms) {
  int left = 0;
  CURLMsg *m;
  CURLMcode mc = engine_act(eng, timers, wait_ms);
  if (mc != CURLM_OK) luaL_error(L, "hy3d: curl_multi_socket_action/perform/poll: %s", curl_multi_strerror(mc));
  while ((m = curl_multi_info_read(eng->multi, &left)) != NULL) {
    char *priv = NULL;
    CURLcode result;
    hy3d_request *r;
    if (m->msg != CURLMSG_DONE) continue;
    result = m->data.result;                    /* m is invalid once the handle is removed */
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    r = (hy3d_request *)priv;
    note_completed(L, engidx, eng, r);
    hy3d_engine_detach(L, engidx, r);
    hy3d_request_finish(r, result);
  }
}

/* How long a wait of `seconds` may block before libcurl's next timer is due, in ms (>= 0). */
static long engine_wait_ms(hy3d_engine *eng, double seconds) {
  long ms = hy3d_seconds_to_ms(seconds), timer = -1;
  curl_multi_timeout(eng->multi, &timer);
  if (timer >= 0 && timer < ms) ms = timer;
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

/* ===== methods ===== */

static long opt_timeout_ms(lua_State *L, int idx) {
  lua_Number t = luaL_optnumber(L, idx, 0);
  luaL_argcheck(L, t >= 0 && t < 1e9, idx, "timeout must be a number of seconds >= 0");
  return hy3d_seconds_to_ms(t);
}

static struct curl_slist *tc3_headers(lua_State *L, hy3d_engine *eng, const char *action, int bodyidx);

/*
 * Starts an API POST with the JSON encoding of the value at validx. With an action, it is an API
 * 3.0 call (POST /, signed headers of its own); without, a gateway route. fresh: a new connection.
 * Pushes the request or nil, err.
 */
static int engine_start_api(lua_State *L, hy3d_engine *eng, const char *path, int validx, long timeout_ms,
                            int fresh, const char *action) {
  hy3d_request *r;
  int bodyidx;
  if (!hy3d_json_encode(L, validx)) {
    lua_pushfstring(L, "the parameters cannot be sent as JSON: %s", lua_tostring(L, -1));
    lua_pushnil(L);
    hy3d_push_error(L, "invalid", "JSON_ENCODE", lua_tostring(L, -2));
    return 2;
  }
  bodyidx = lua_gettop(L);
  r = hy3d_request_new(L, eng, HY3D_KIND_API);
  if (action != NULL) {
    r->headers = tc3_headers(L, eng, action, bodyidx);
    if (r->headers == NULL) return luaL_error(L, "hy3d.Engine:call: out of memory");
  }
  if (!hy3d_request_setup_api(L, eng, r, path, bodyidx, timeout_ms, fresh)) return 2;
  hy3d_engine_attach(L, 1, lua_gettop(L));    /* the next wait or step starts it */
  return 1;
}

/* engine:submit(params [, timeout]) -> request | nil, err */
static int engine_submit(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  long tmo;
  luaL_checktype(L, 2, LUA_TTABLE);
  tmo = opt_timeout_ms(L, 3);
  return engine_start_api(L, eng, "/v1/ai3d/submit", 2, tmo, 1, NULL);
}

/* engine:query(job_id [, timeout]) -> request | nil, err */
static int engine_query(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  long tmo;
  luaL_checktype(L, 2, LUA_TSTRING);
  tmo = opt_timeout_ms(L, 3);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "JobId");
  return engine_start_api(L, eng, "/v1/ai3d/query", lua_gettop(L), tmo, 0, NULL);
}

/* Appends "Name: value" to *list; 0 when out of memory. */
static int add_header(struct curl_slist **list, const char *name, const char *value) {
  size_t n = strlen(name), v = strlen(value);
  char *line = (char *)malloc(n + v + 3);
  struct curl_slist *next;
  if (line == NULL) return 0;
  memcpy(line, name, n);
  memcpy(line + n, ": ", 2);
  memcpy(line + n + 2, value, v + 1);
  next = curl_slist_append(*list, line);
  memset(line, 0, n + v + 2);
  free(line);
  if (next == NULL) return 0;
  *list = next;
  return 1;
}

/*
 * The headers of one API 3.0 request for the JSON body at bodyidx, signed now: Content-Type, Host,
 * X-TC-*, Authorization. Pushes the Authorization value while it builds (popped before return).
 * Returns the list or NULL when out of memory. The engine is at stack index 1 (as for
 * engine_start_api). Test hook (not public API): with tc3._clock given to core.new, while
 * _clock.now holds an integer the request is signed (and stamped) with that UNIX time instead of
 * the current one, so a spec can sign on either side of midnight UTC with one engine.
 */
static struct curl_slist *tc3_headers(lua_State *L, hy3d_engine *eng, const char *action, int bodyidx) {
  struct curl_slist *list = NULL;
  hy3d_tc3 in;
  char ts[32];
  int ok, isnum = 0;
  lua_Integer fixed = 0;
  hy3d_getuservalue(L, 1);                       /* anchors */
  lua_getfield(L, -1, "tc3_clock");              /* anchors, clock|nil */
  if (lua_istable(L, -1)) {
    lua_pushliteral(L, "now");
    lua_rawget(L, -2);                           /* anchors, clock, now */
    fixed = lua_tointegerx(L, -1, &isnum);
    if (isnum && (fixed < 0 || fixed > 253402300799LL))
      luaL_error(L, "hy3d.Engine:call: tc3._clock.now must be a UNIX time (seconds, year 1970..9999)");
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  memset(&in, 0, sizeof in);
  in.secret_id = eng->tc3_id;
  in.secret_key = eng->tc3_key;
  in.secret_key_len = strlen(eng->tc3_key);
  in.service = eng->tc3_service;
  in.cache = eng->tc3_cache;
  in.payload = lua_tolstring(L, bodyidx, &in.payload_len);
  in.timestamp = isnum ? (long long)fixed : (long long)time(NULL);   /* UTC seconds since the epoch */
  in.nheaders = 2;
  in.names[0] = "content-type";
  in.values[0] = "application/json";
  in.value_lens[0] = sizeof "application/json" - 1;
  in.names[1] = "host";
  in.values[1] = eng->tc3_host;
  in.value_lens[1] = strlen(eng->tc3_host);
  hy3d_tc3_compute(L, &in, 0);                   /* authorization */
  snprintf(ts, sizeof ts, "%lld", in.timestamp);
  ok = add_header(&list, "Content-Type", "application/json")
       && add_header(&list, "Host", eng->tc3_host)
       && add_header(&list, "Accept", "application/json")
       && add_header(&list, "Expect", "")
       && add_header(&list, "X-TC-Action", action)
       && add_header(&list, "X-TC-Version", eng->tc3_version)
       && add_header(&list, "X-TC-Timestamp", ts)
       && (eng->tc3_region == NULL || add_header(&list, "X-TC-Region", eng->tc3_region))
       && (eng->tc3_language == NULL || add_header(&list, "X-TC-Language", eng->tc3_language))
       && (eng->tc3_token == NULL || add_header(&list, "X-TC-Token", eng->tc3_token))
       && add_header(&list, "Authorization", lua_tostring(L, -1));
  lua_pop(L, 1);
  if (!ok) {
    hy3d_slist_wipe(list);
    return NULL;
  }
  return list;
}

/*
 * engine:call(action, params [, timeout [, fresh]]) -> request | nil, err
 * An API 3.0 action: params as the JSON body of POST /, signed with TC3-HMAC-SHA256 at the
 * current time. Only on an engine made with tc3 credentials. fresh: use a new connection (for
 * submits, which must never be sent twice).
 */
static int engine_call(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  const char *action = luaL_checkstring(L, 2);
  const char *p;
  long tmo;
  int fresh;
  luaL_checktype(L, 3, LUA_TTABLE);
  tmo = opt_timeout_ms(L, 4);
  fresh = lua_toboolean(L, 5);
  lua_settop(L, 3);
  if (eng->tc3_id == NULL) return luaL_error(L, "hy3d.Engine:call: this engine has no API 3.0 credentials");
  for (p = action; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) break;
  if (*p != '\0' || p == action) return luaL_argerror(L, 2, "an action name is letters and digits");
  return engine_start_api(L, eng, "/", 3, tmo, fresh, action);
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
 *                              meta=, allow_http=}]) -> request | nil, err
 * timeout: total seconds (default none); stall: the low-speed window in seconds (default the
 * engine's timeout); min_rate: bytes/s the transfer must keep over that window (default 4096;
 * 0: only a window without a byte aborts); min_avg_rate: once the size is known the download must
 * end by stall + size / min_avg_rate seconds (default 1024; 0: no ceiling); max_bytes: refuse
 * larger files (default none); resume: continue the file at path with a Range request instead of
 * truncating it; meta: the sidecar of a validated resume (If-Range, the size checked; a partial
 * file without it is started over); allow_http: follow an https link redirected to plain http.
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
  if (!hy3d_request_setup_file(L, eng, r, &o))
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
  long ms = -1;
  curl_multi_timeout(eng->multi, &ms);
  if (ms < 0) lua_pushnil(L); else lua_pushnumber(L, (lua_Number)ms / 1000.0);
  return 1;
}

/* engine:pending() -> number of requests in flight */
static int engine_pending(lua_State *L) {
  hy3d_engine *eng = hy3d_checkengine(L, 1);
  lua_pushinteger(L, eng->ninflight);
  return 1;
}

/* Zeroes and frees a secret string; NULL is fine. */
static void wipe_free(char **s) {
  if (*s != NULL) {
    memset(*s, 0, strlen(*s));
    free(*s);
    *s = NULL;
  }
}

/* The one release shared by close, __gc and __close: idempotent; cancels what is in flight. */
static int engine_close(lua_State *L) {
  hy3d_engine *eng = (hy3d_engine *)luaL_checkudata(L, 1, HY3D_ENGINE_MT);
  while (eng->inflight != NULL) {
    hy3d_request *r = eng->inflight;
    hy3d_engine_detach(L, 1, r);
    hy3d_request_cancel(r);
  }
  if (eng->multi != NULL) {
    curl_multi_cleanup(eng->multi);
    eng->multi = NULL;
  }
  while (eng->nidle > 0) curl_easy_cleanup(eng->idle[--eng->nidle]);
#if defined(HY3D_EPOLL)
  if (eng->epfd >= 0) close(eng->epfd);
#endif
  eng->epfd = -1;
  hy3d_slist_wipe(eng->api_headers);           /* holds the credential */
  eng->api_headers = NULL;
  free(eng->base_url);
  eng->base_url = NULL;
  free(eng->user_agent);
  eng->user_agent = NULL;
  free(eng->ca_file);
  free(eng->ca_path);
  eng->ca_file = eng->ca_path = NULL;
  wipe_free(&eng->tc3_key);
  hy3d_tc3_cache_free(eng->tc3_cache);         /* holds the day's signing key */
  eng->tc3_cache = NULL;
  wipe_free(&eng->tc3_token);
  free(eng->tc3_id);
  free(eng->tc3_region);
  free(eng->tc3_version);
  free(eng->tc3_language);
  free(eng->tc3_service);
  free(eng->tc3_host);
  eng->tc3_id = eng->tc3_region = eng->tc3_version = eng->tc3_language = NULL;
  eng->tc3_service = eng->tc3_host = NULL;
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

static char *dup_string_field(lua_State *L, int t, const char *name, int required) {
  const char *s;
  char *copy;
  size_t len;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    if (required) luaL_error(L, "hy3d.core.new: '%s' is required", name);
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "hy3d.core.new: '%s' must be a string", name);
  s = lua_tolstring(L, -1, &len);
  if (strlen(s) != len || strpbrk(s, "\r\n") != NULL)
    luaL_error(L, "hy3d.core.new: '%s' contains a line break or NUL", name);
  copy = (char *)malloc(len + 1);
  if (copy == NULL) luaL_error(L, "hy3d.core.new: out of memory");
  memcpy(copy, s, len + 1);
  lua_pop(L, 1);
  return copy;
}

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

/* The host[:port] of an http(s) URL (what libcurl sends as Host), malloc'ed; NULL when there is none. */
static char *url_host(const char *url) {
  const char *start = strstr(url, "://"), *end, *at;
  char *host;
  size_t n;
  if (start == NULL) return NULL;
  start += 3;
  end = start + strcspn(start, "/?#");
  at = memchr(start, '@', (size_t)(end - start));
  if (at != NULL) start = at + 1;
  n = (size_t)(end - start);
  if (n == 0) return NULL;
  host = (char *)malloc(n + 1);
  if (host == NULL) return NULL;
  memcpy(host, start, n);
  host[n] = '\0';
  return host;
}

/*
 * Reads the tc3 = { secret_id=, secret_key=, token=, region=, version=, language=, service= } table.
 * Test hook (not public API): tc3._clock, a table kept in the user value of the engine at engidx
 * (see tc3_headers).
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
  eng->tc3_id = dup_string_field(L, t, "secret_id", 1);
  eng->tc3_key = dup_string_field(L, t, "secret_key", 1);
  eng->tc3_token = dup_string_field(L, t, "token", 0);
  eng->tc3_region = dup_string_field(L, t, "region", 0);
  eng->tc3_version = dup_string_field(L, t, "version", 1);
  eng->tc3_language = dup_string_field(L, t, "language", 0);
  eng->tc3_service = dup_string_field(L, t, "service", 0);
  if (eng->tc3_id[0] == '\0' || eng->tc3_key[0] == '\0')
    luaL_error(L, "hy3d.core.new: tc3 secret_id and secret_key must not be empty");
  if (eng->tc3_service == NULL) {
    eng->tc3_service = (char *)malloc(sizeof "ai3d");
    if (eng->tc3_service == NULL) luaL_error(L, "hy3d.core.new: out of memory");
    memcpy(eng->tc3_service, "ai3d", sizeof "ai3d");
  }
  eng->tc3_host = url_host(eng->base_url);
  if (eng->tc3_host == NULL) luaL_error(L, "hy3d.core.new: base_url has no host");
  eng->tc3_cache = hy3d_tc3_cache_new();
  if (eng->tc3_cache == NULL) luaL_error(L, "hy3d.core.new: out of memory (libcrypto SHA-256/HMAC)");
}

/*
 * core.new{ base_url=, authorization=, tc3=, user_agent=, timeout=, connect_timeout=, stall=, ca_file=,
 *           ca_path=, insecure= } -> engine
 * authorization: the gateway's Authorization value; tc3: API 3.0 credentials (see engine_tc3).
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
#if defined(HY3D_EPOLL)
  eng->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (eng->epfd >= 0) {
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETFUNCTION, engine_socket_cb);
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETDATA, (void *)eng);
  }
#endif
  eng->timeout_ms = seconds_field_ms(L, 1, "timeout", 60000L);
  eng->connect_timeout_ms = seconds_field_ms(L, 1, "connect_timeout", 10000L);
  eng->base_url = dup_string_field(L, 1, "base_url", 1);
  n = strlen(eng->base_url);
  while (n > 0 && eng->base_url[n - 1] == '/') eng->base_url[--n] = '\0';
  eng->user_agent = dup_string_field(L, 1, "user_agent", 0);
  eng->ca_file = dup_string_field(L, 1, "ca_file", 0);
  eng->ca_path = dup_string_field(L, 1, "ca_path", 0);
  lua_getfield(L, 1, "insecure");
  eng->insecure = lua_toboolean(L, -1);
  lua_pop(L, 1);
  eng->stall_s = seconds_field_ms(L, 1, "stall", 0L);
  eng->stall_s = eng->stall_s / 1000 + (eng->stall_s % 1000 != 0);     /* whole seconds, rounded up */
  eng->api_headers = curl_slist_append(NULL, "Content-Type: application/json");
  if (eng->api_headers == NULL) return luaL_error(L, "hy3d.core.new: out of memory");
  if (curl_slist_append(eng->api_headers, "Accept: application/json") == NULL ||
      curl_slist_append(eng->api_headers, "Expect:") == NULL)
    return luaL_error(L, "hy3d.core.new: out of memory");
  auth = dup_string_field(L, 1, "authorization", 0);
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
  lua_getfield(L, 1, "tc3");
  if (lua_istable(L, -1)) engine_tc3(L, eng, 2, lua_gettop(L));   /* the engine is at 2 */
  else if (!lua_isnil(L, -1)) return luaL_error(L, "hy3d.core.new: 'tc3' must be a table");
  lua_pop(L, 1);
  return 1;
}

static const luaL_Reg engine_methods[] = {
  {"submit", engine_submit},
  {"query", engine_query},
  {"call", engine_call},
  {"download", engine_download},
  {"wait", engine_wait},
  {"step", engine_step},
  {"timeout", engine_timeout},
  {"pending", engine_pending},
  {"pollfd", engine_pollfd},
  {"completed", engine_completed},
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
