/* hy3d_core.c — luaopen_hy3d_core: libcurl's one-time global init, the per-state context, the monotonic clock and the module table. */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <math.h>
#include <time.h>
#if defined(_WIN32)
#include <windows.h>
#endif

#include "hy3d.h"

/* The only mutable C global: curl_global_init must run once per process. */
static int hy3d_curl_ready = 0;

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

/* core.now() -> seconds on a monotonic clock */
static int core_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)hy3d_now());
  return 1;
}

static const luaL_Reg core_funcs[] = {
  {"now", core_now},
  {NULL, NULL}
};

HY3D_API int luaopen_hy3d_core(lua_State *L) {
  curl_version_info_data *info;
  if (!hy3d_curl_ready) {
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) return luaL_error(L, "hy3d: curl_global_init: %s", curl_easy_strerror(rc));
    hy3d_curl_ready = 1;
  }
  info = curl_version_info(CURLVERSION_NOW);
  if (info->version_num < 0x074200)             /* curl_multi_poll */
    return luaL_error(L, "hy3d needs libcurl 7.66.0 or newer (found %s)", info->version);
  hy3d_json_open(L);                            /* encode, decode: the module upvalues */
  hy3d_engine_open(L);
  hy3d_request_open(L);
  lua_newtable(L);                              /* encode, decode, M */
  lua_pushvalue(L, -3);
  lua_pushvalue(L, -3);
  hy3d_setfuncs(L, core_funcs, HY3D_NUPVALUES);
  lua_pushvalue(L, -3);
  lua_pushvalue(L, -3);
  hy3d_setfuncs(L, hy3d_json_funcs, HY3D_NUPVALUES);
  lua_pushvalue(L, -3);
  lua_pushvalue(L, -3);
  hy3d_setfuncs(L, hy3d_engine_funcs, HY3D_NUPVALUES);
  hy3d_setfuncs(L, hy3d_sign_funcs, 0);
  lua_pushliteral(L, HY3D_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushstring(L, info->version);
  lua_setfield(L, -2, "curl_version");
  lua_pushboolean(L, (info->features & CURL_VERSION_SSL) != 0);
  lua_setfield(L, -2, "curl_ssl");
  return 1;
}
