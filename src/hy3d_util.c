/* hy3d_util.c — the helpers at the bottom of the C core: class creation, the monotonic clock, error tables, path and field checks, wiping. Calls no other unit. */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(_WIN32)
#include <windows.h>
#endif

#include "hy3d.h"

/* Seconds on a monotonic clock (never jumps with the wall clock). */
double hy3d_now(void) {
#if defined(_WIN32)
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)f.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

/* Seconds to whole milliseconds for libcurl, rounded up and clamped to what a long holds. */
long hy3d_seconds_to_ms(double seconds) {
  double ms = ceil(seconds * 1000.0);
  if (!(ms > 0)) return 0;
  if (ms >= (double)LONG_MAX) return LONG_MAX;
  return (long)ms;
}

/*
 * Creates metatable `name` with `meta` as metamethods and `methods` as its __index table. Every
 * function gets the module upvalues, which must be on top of the stack; the stack is unchanged.
 */
void hy3d_newclass(lua_State *L, const char *name, const luaL_Reg *methods, const luaL_Reg *meta) {
  luaL_newmetatable(L, name);                   /* uv..., mt */
  lua_pushvalue(L, -1 - HY3D_NUPVALUES);
  lua_pushvalue(L, -1 - HY3D_NUPVALUES);        /* uv..., mt, uv... */
  hy3d_setfuncs(L, meta, HY3D_NUPVALUES);       /* uv..., mt */
  lua_newtable(L);                              /* uv..., mt, methods */
  lua_pushvalue(L, -2 - HY3D_NUPVALUES);
  lua_pushvalue(L, -2 - HY3D_NUPVALUES);
  hy3d_setfuncs(L, methods, HY3D_NUPVALUES);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "this metatable is locked");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

/* ===== error tables ===== */

/* Pushes a plain error table {kind=, code=, message=}; NULL fields are left out. */
void hy3d_push_error(lua_State *L, const char *kind, const char *code, const char *message) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (code != NULL) {
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
  }
  if (message != NULL) {
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
  }
}

/* Sets t[name] = v on the table on top. */
void hy3d_set_int_field(lua_State *L, const char *name, long v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, name);
}

/*
 * The file path argument at idx: a string (else a Lua error: the caller's mistake), or NULL when it
 * holds a NUL byte, where C would silently cut it short and name another file. The caller refuses
 * NULL with a typed error (hy3d_push_path_error).
 */
const char *hy3d_checkpath(lua_State *L, int idx) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  return strlen(s) == len ? s : NULL;
}

/* Pushes nil and the error for a path that holds a NUL byte: {kind="invalid", code="BAD_PATH"}. */
void hy3d_push_path_error(lua_State *L, const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "the %s holds a NUL byte (refused: it would name another file)", what);
  hy3d_push_error(L, "invalid", "BAD_PATH", lua_tostring(L, -1));
  lua_remove(L, -2);
}

/* ===== core.new's fields ===== */

/*
 * A malloc'ed copy of the string field `name` of the table at t (NULL when absent and not
 * required). Raises (as core.new) on another type, a line break or NUL, or out of memory.
 */
char *hy3d_dup_field(lua_State *L, int t, const char *name, int required) {
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

/* The host[:port] of an http(s) URL (what libcurl sends as Host), malloc'ed; NULL when there is none. */
char *hy3d_url_host(const char *url) {
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

/* ===== wiping secrets ===== */

/* Frees a header list after zeroing every line (some carry credentials). NULL is fine. */
void hy3d_slist_wipe(struct curl_slist *list) {
  struct curl_slist *h;
  for (h = list; h != NULL; h = h->next) memset(h->data, 0, strlen(h->data));
  curl_slist_free_all(list);
}

/* Zeroes and frees a secret string and sets it to NULL; NULL is fine. */
void hy3d_wipe_free(char **s) {
  if (*s != NULL) {
    memset(*s, 0, strlen(*s));
    free(*s);
    *s = NULL;
  }
}
