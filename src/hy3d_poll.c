/* hy3d_poll.c — engine:poll's request side: its spec (interval, deadline, field paths, running values: Lua data) kept in the request's user value, the "still running and unchanged?" check of an answer, and the reset (and TC3 signature at the current time) of a re-send. Below the request; calls hy3d_json.c, hy3d_sign.c, hy3d_util.c. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hy3d.h"

/* The longest running value compared (longer ones are never running). */
#define HY3D_POLL_VALUE_MAX 64

/* Checks that t[name] (t at idx) is a list of strings (a field path); raises otherwise. */
static void check_path(lua_State *L, int idx, const char *what) {
  int i, n;
  if (!lua_istable(L, idx)) luaL_error(L, "hy3d.Engine:poll: %s must be a list of field names", what);
  n = (int)lua_rawlen(L, idx);
  if (n < 1) luaL_error(L, "hy3d.Engine:poll: %s must name at least one field", what);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "hy3d.Engine:poll: %s must be a list of field names", what);
    lua_pop(L, 1);
  }
}

/* A number field of the spec at idx (raises unless it is one, >= 0). */
static double spec_number(lua_State *L, int idx, const char *name, double dflt) {
  double v;
  lua_getfield(L, idx, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return dflt;
  }
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "hy3d.Engine:poll: spec.%s must be a number", name);
  v = (double)lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0 && v < 1e12)) luaL_error(L, "hy3d.Engine:poll: spec.%s must be >= 0", name);
  return v;
}

/* Pushes s upper-cased (ASCII), or nil when it is longer than HY3D_POLL_VALUE_MAX. */
static void push_upper(lua_State *L, const char *s, size_t len) {
  char buf[HY3D_POLL_VALUE_MAX];
  size_t i;
  if (len > sizeof buf) {
    lua_pushnil(L);
    return;
  }
  for (i = 0; i < len; i++) buf[i] = (char)toupper((unsigned char)s[i]);
  lua_pushlstring(L, buf, len);
}

/* Replaces the value on top by what a comparison reads: strings upper-cased, NaN as nil. */
static void normalize_top(lua_State *L) {
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    push_upper(L, s, len);
    lua_remove(L, -2);
  } else if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
}

/*
 * Reads the spec at specidx (see engine:poll in hy3d_engine.c) into the request at reqidx: the
 * times into its struct, the field paths, the running values (as a set, upper-cased), the watched
 * paths and their last values into its user value's "poll" table (engine:poll puts the action to
 * sign with and an absolute URL beside it). Raises on a malformed spec.
 */
void hy3d_poll_setup(lua_State *L, int reqidx, int specidx, hy3d_request *r) {
  int st, i, n;
  reqidx = lua_absindex(L, reqidx);
  specidx = lua_absindex(L, specidx);
  r->poll_interval = spec_number(L, specidx, "interval", 1.0);
  r->poll_deadline = spec_number(L, specidx, "deadline", 1e12);
  lua_newtable(L);
  st = lua_gettop(L);
  lua_getfield(L, specidx, "path");
  check_path(L, -1, "spec.path");
  lua_setfield(L, st, "path");
  lua_getfield(L, specidx, "running");
  if (!lua_istable(L, -1)) luaL_error(L, "hy3d.Engine:poll: spec.running must be a list of values");
  lua_newtable(L);                                /* st, running list, set */
  n = (int)lua_rawlen(L, -2);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    lua_rawgeti(L, -2, i);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "hy3d.Engine:poll: spec.running must be a list of strings");
    s = lua_tolstring(L, -1, &len);
    push_upper(L, s, len);
    if (!lua_isnil(L, -1)) {
      lua_pushboolean(L, 1);
      lua_rawset(L, -4);
    } else {
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_setfield(L, st, "running");
  lua_pop(L, 1);
  lua_getfield(L, specidx, "watch");
  if (!lua_isnil(L, -1)) {
    int w = lua_gettop(L);
    if (!lua_istable(L, w)) luaL_error(L, "hy3d.Engine:poll: spec.watch must be a list of field paths");
    n = (int)lua_rawlen(L, w);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, w, i);
      check_path(L, -1, "each of spec.watch");
      lua_pop(L, 1);
    }
    lua_setfield(L, st, "watch");
    lua_getfield(L, specidx, "last");
    if (!lua_isnil(L, -1) && !lua_istable(L, -1)) luaL_error(L, "hy3d.Engine:poll: spec.last must be a table");
    lua_newtable(L);                              /* st, last|nil, normalized copy */
    for (i = 1; i <= n && lua_istable(L, -2); i++) {
      lua_rawgeti(L, -2, i);
      normalize_top(L);
      lua_rawseti(L, -2, i);
    }
    lua_setfield(L, st, "last");
  }
  lua_pop(L, 1);
  hy3d_getuservalue(L, reqidx);
  lua_pushvalue(L, st);
  lua_setfield(L, -2, "poll");
  lua_pop(L, 2);
  r->polling = 1;
}

/* Pushes the value at path (a list at pathidx) inside the table at t, or nil where it stops. */
static void push_at_path(lua_State *L, int t, int pathidx) {
  int i, n = (int)lua_rawlen(L, pathidx);
  lua_pushvalue(L, t);
  for (i = 1; i <= n; i++) {
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    lua_rawgeti(L, pathidx, i);
    lua_rawget(L, -2);
    lua_remove(L, -2);
  }
}

/*
 * Whether the poll request at reqidx, just finished, should be sent again silently: a 2xx JSON
 * answer (no API error in the envelope) whose value at the spec's path is one of its running
 * values, whose watched values equal the last ones Lua saw, and whose next send (after the
 * interval) comes before the deadline. Sets poll_due then. Anything else (an error, an
 * undecodable body, a missing value, a change, the deadline) is 0: the answer surfaces to Lua.
 * Decodes with the module's lua-cjson: call it from a Lua C function, never a libcurl callback.
 */
int hy3d_poll_again(lua_State *L, int reqidx, hy3d_request *r) {
  const hy3d_envelope *env = r->envelope;
  int top = lua_gettop(L), again = 0, st, body, i, n;
  double now = hy3d_now();
  reqidx = lua_absindex(L, reqidx);
  if (r->result != CURLE_OK || r->cancelled || r->too_large || r->sink_errno != 0) return 0;
  if (r->http_status < 200 || r->http_status >= 300) return 0;
  if (now + r->poll_interval >= r->poll_deadline) return 0;
  hy3d_getuservalue(L, reqidx);
  lua_getfield(L, -1, "poll");
  st = lua_gettop(L);
  if (!lua_istable(L, st)) goto out;
  if (!hy3d_json_decode(L, r->body.data != NULL ? r->body.data : "", r->body.len) || !lua_istable(L, -1)) goto out;
  body = lua_gettop(L);
  if (env->root[0] != '\0') {
    lua_getfield(L, body, env->root);
    if (lua_istable(L, -1)) lua_replace(L, body);
    else lua_pop(L, 1);
  }
  if (env->error[0] != '\0') {
    lua_getfield(L, body, env->error);
    if (!lua_isnil(L, -1)) goto out;              /* an API error: Lua reads it */
    lua_pop(L, 1);
  }
  lua_getfield(L, st, "path");
  push_at_path(L, body, lua_gettop(L));
  if (lua_type(L, -1) != LUA_TSTRING) goto out;   /* no status: Lua says so */
  normalize_top(L);
  if (lua_isnil(L, -1)) goto out;
  lua_getfield(L, st, "running");
  lua_pushvalue(L, -2);
  lua_rawget(L, -2);
  if (!lua_toboolean(L, -1)) goto out;            /* left its running values */
  lua_getfield(L, st, "watch");
  if (lua_istable(L, -1)) {
    int w = lua_gettop(L);
    lua_getfield(L, st, "last");
    n = (int)lua_rawlen(L, w);
    for (i = 1; i <= n; i++) {
      int same;
      lua_rawgeti(L, w, i);
      push_at_path(L, body, lua_gettop(L));
      normalize_top(L);
      lua_rawgeti(L, w + 1, i);
      same = lua_rawequal(L, -1, -2);
      lua_pop(L, 3);
      if (!same) goto out;                        /* a watched value changed */
    }
  }
  again = 1;
  r->poll_due = now + r->poll_interval;
out:
  lua_settop(L, top);
  return again;
}

/*
 * Readies the request at reqidx (off the multi handle) to be sent again: the last answer's body
 * and outcome are forgotten, and a signed one (its action in the user value) is signed anew at
 * `timestamp` with tc3 (the signature covers the time: a 5-minute-old one is refused).
 */
void hy3d_poll_reset(lua_State *L, int reqidx, hy3d_request *r, const hy3d_tc3_cfg *tc3, long long timestamp) {
  reqidx = lua_absindex(L, reqidx);
  hy3d_buf_reset(&r->body);
  r->result = CURLE_OK;
  r->http_status = 0;
  r->too_large = 0;
  r->sink_errno = 0;
  r->head_done = 0;
  r->errbuf[0] = '\0';
  if (r->poll_deadline < 1e12) {                  /* no send outlives the deadline by its own timeout */
    double left_ms = (r->poll_deadline - hy3d_now()) * 1000.0;
    long ms = left_ms < 1 ? 1 : left_ms < (double)r->timeout_ms ? (long)left_ms + 1 : r->timeout_ms;
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, ms);
  }
  hy3d_getuservalue(L, reqidx);
  lua_getfield(L, -1, "action");
  if (lua_type(L, -1) == LUA_TSTRING && tc3 != NULL) {
    size_t len = 0;
    const char *payload = "";
    struct curl_slist *headers;
    char *host;
    lua_getfield(L, -2, "body");
    if (lua_type(L, -1) == LUA_TSTRING) payload = lua_tolstring(L, -1, &len);
    lua_getfield(L, -3, "url");
    host = lua_type(L, -1) == LUA_TSTRING ? hy3d_url_host(lua_tostring(L, -1)) : NULL;
    headers = hy3d_tc3_headers(L, tc3, host != NULL ? host : tc3->host, lua_tostring(L, -3), payload, len, timestamp);
    free(host);
    if (headers == NULL) luaL_error(L, "hy3d.Engine: out of memory signing a poll");
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, headers);
    hy3d_slist_wipe(r->headers);
    r->headers = headers;
    lua_pop(L, 2);
  }
  lua_pop(L, 2);
}
