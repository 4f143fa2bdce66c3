/* hy3d_core.c — luaopen_hy3d_core and what is process-wide: libcurl's one-time global init, the per-state context (module upvalues), core.now/sleep and the module table. The top of the C core: calls every unit's open, nothing calls it. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <time.h>
#if defined(_WIN32)
#include <windows.h>
#endif

#include "hy3d.h"

/*
 * The only mutable C globals: curl_global_init must run once per process, and what
 * curl_version_info reports is read then too (libcurl rewrites a shared struct on every call, so
 * a second state loading hy3d on another thread must not call it again). Written once, before
 * any other state can exist when the host follows doc/development.md's thread note; read-only after.
 */
static int hy3d_curl_ready = 0;
static char hy3d_curl_version[64];
static unsigned int hy3d_curl_num = 0;
static int hy3d_curl_has_ssl = 0;
static char hy3d_curl_ssl_version[64];        /* libcurl's TLS backend and its version ("OpenSSL/3.0.x") */
static char hy3d_curl_cainfo[512];            /* libcurl's built-in CA bundle and path ("" when none) */
static char hy3d_curl_capath[512];

/* The CA file and directory libcurl uses when none is set (CURLINFO_CAINFO/CAPATH, libcurl 7.84+). */
static void read_ca_defaults(void) {
#if HY3D_CURL_GE(7, 84, 0)
  CURL *e = curl_easy_init();
  char *v = NULL;
  if (e == NULL) return;
  if (curl_easy_getinfo(e, CURLINFO_CAINFO, &v) == CURLE_OK && v != NULL)
    snprintf(hy3d_curl_cainfo, sizeof hy3d_curl_cainfo, "%s", v);
  v = NULL;
  if (curl_easy_getinfo(e, CURLINFO_CAPATH, &v) == CURLE_OK && v != NULL)
    snprintf(hy3d_curl_capath, sizeof hy3d_curl_capath, "%s", v);
  curl_easy_cleanup(e);
#endif
}

/* core.now() -> seconds on a monotonic clock */
static int core_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)hy3d_now());
  return 1;
}

/* core.sleep(seconds): sleeps the thread (for schedulers with nothing in flight to wait on). */
static int core_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  if (s > 0) {
#if defined(_WIN32)
    Sleep((DWORD)(s * 1000.0));
#else
    struct timespec ts;
    if (s > 1e6) s = 1e6;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
#endif
  }
  return 0;
}

static const luaL_Reg core_funcs[] = {
  {"now", core_now},
  {"sleep", core_sleep},
  {NULL, NULL}
};

HY3D_API int luaopen_hy3d_core(lua_State *L) {
  if (!hy3d_curl_ready) {
    curl_version_info_data *info;
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) return luaL_error(L, "hy3d: curl_global_init: %s", curl_easy_strerror(rc));
    info = curl_version_info(CURLVERSION_NOW);
    snprintf(hy3d_curl_version, sizeof hy3d_curl_version, "%s", info->version);
    hy3d_curl_num = info->version_num;
    hy3d_curl_has_ssl = (info->features & CURL_VERSION_SSL) != 0;
    snprintf(hy3d_curl_ssl_version, sizeof hy3d_curl_ssl_version, "%s", info->ssl_version ? info->ssl_version : "");
    read_ca_defaults();
    hy3d_curl_ready = 1;
  }
  if (hy3d_curl_num < 0x074200)                 /* curl_multi_poll */
    return luaL_error(L, "hy3d needs libcurl 7.66.0 or newer (found %s)", hy3d_curl_version);
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
  hy3d_setfuncs(L, hy3d_files_funcs, 0);
  hy3d_setfuncs(L, hy3d_image_funcs, 0);
  hy3d_setfuncs(L, hy3d_scan_funcs, 0);
  lua_pushliteral(L, HY3D_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushstring(L, hy3d_curl_version);
  lua_setfield(L, -2, "curl_version");
  lua_pushboolean(L, hy3d_curl_has_ssl);
  lua_setfield(L, -2, "curl_ssl");
  lua_pushstring(L, hy3d_curl_ssl_version);
  lua_setfield(L, -2, "curl_ssl_version");
  lua_pushstring(L, hy3d_curl_cainfo);
  lua_setfield(L, -2, "curl_cainfo");
  lua_pushstring(L, hy3d_curl_capath);
  lua_setfield(L, -2, "curl_capath");
  return 1;
}
