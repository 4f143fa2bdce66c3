/* hy3d_compat.h — every Lua version difference the C core needs (5.1/LuaJIT to 5.4), in one place. */
#ifndef HY3D_COMPAT_H
#define HY3D_COMPAT_H

#include "lua.h"
#include "lauxlib.h"

#ifndef LUA_OK
#define LUA_OK 0
#endif

/* Each userdata carries one user value, always a table (5.1 environments must be tables). */
#if LUA_VERSION_NUM >= 504
#define hy3d_newuserdata(L, sz)   lua_newuserdatauv((L), (sz), 1)
#define hy3d_setuservalue(L, idx) ((void)lua_setiuservalue((L), (idx), 1))
#define hy3d_getuservalue(L, idx) ((void)lua_getiuservalue((L), (idx), 1))
#elif LUA_VERSION_NUM >= 502
#define hy3d_newuserdata(L, sz)   lua_newuserdata((L), (sz))
#define hy3d_setuservalue(L, idx) lua_setuservalue((L), (idx))
#define hy3d_getuservalue(L, idx) ((void)lua_getuservalue((L), (idx)))
#else
#define hy3d_newuserdata(L, sz)   lua_newuserdata((L), (sz))
#define hy3d_setuservalue(L, idx) ((void)lua_setfenv((L), (idx)))
#define hy3d_getuservalue(L, idx) lua_getfenv((L), (idx))
#endif

#if LUA_VERSION_NUM >= 502
#define hy3d_setfuncs luaL_setfuncs
#else
#define lua_rawlen(L, i) lua_objlen((L), (i))
#define lua_absindex(L, i) \
  ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)
/* luaL_setfuncs from 5.2, under our own name so it cannot clash with LuaJIT's or compat-5.3's. */
static inline void hy3d_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
#endif

/*
 * Integer conversion with 5.3's rule everywhere: a number (or numeric string) converts only when
 * its value is integral and representable, else 0 with *isnum = 0. 5.1 has no lua_tointegerx;
 * 5.2's and LuaJIT's truncate fractions (and 5.2's lua_tointeger is a macro over lua_tointegerx),
 * so below 5.3 both names are ours.
 */
#if LUA_VERSION_NUM < 503
#include <stddef.h>
#include <stdint.h>
static inline lua_Integer hy3d_tointegerx(lua_State *L, int idx, int *isnum) {
  lua_Integer i = 0;
  int ok = 0;
  if (lua_isnumber(L, idx)) {
    lua_Number n = lua_tonumber(L, idx);
    /* lua_Integer is ptrdiff_t below 5.3; both bounds are exact powers of two as doubles */
    if (n >= (lua_Number)PTRDIFF_MIN && n < -(lua_Number)PTRDIFF_MIN && (lua_Number)(lua_Integer)n == n) {
      i = (lua_Integer)n;
      ok = 1;
    }
  }
  if (isnum != NULL) *isnum = ok;
  return i;
}
#undef lua_tointeger
#undef lua_tointegerx
#define lua_tointegerx(L, i, isnum) hy3d_tointegerx((L), (i), (isnum))
#define lua_tointeger(L, i) hy3d_tointegerx((L), (i), NULL)
#endif

/* memmem (a search that beats memchr + memcmp on text full of the needle's first byte): glibc with
 * _GNU_SOURCE, musl, the BSDs and macOS have it; elsewhere hy3d_scan.c searches by memchr. */
#if defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__OpenBSD__) || (defined(__linux__) && !defined(__GLIBC__))
#define HY3D_HAVE_MEMMEM 1
#endif

#endif
