/* hy3d_scan.c — core.mentions: whether any string reachable from a value (keys and values, any depth) holds one of a list of strings, so the Lua layer redacts an answer only when it can echo a secret. Calls no other unit. */
#include <string.h>

#include "hy3d.h"

#define SCAN_MAX_NEEDLES 16

typedef struct {
  const char *p[SCAN_MAX_NEEDLES];
  size_t len[SCAN_MAX_NEEDLES];
  int n;
} scan_needles;

/* Whether s (len bytes) holds needle (nlen > 0 bytes) anywhere: memchr for its first byte, then memcmp. */
static int holds(const char *s, size_t len, const char *needle, size_t nlen) {
  const char *end = s + len, *at = s;
  while ((size_t)(end - at) >= nlen) {
    at = (const char *)memchr(at, (unsigned char)needle[0], (size_t)(end - at) - nlen + 1);
    if (at == NULL) return 0;
    if (memcmp(at, needle, nlen) == 0) return 1;
    at++;
  }
  return 0;
}

/* Whether the string at idx holds any needle. */
static int string_mentions(lua_State *L, int idx, const scan_needles *nd) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  int i;
  for (i = 0; i < nd->n; i++)
    if (nd->len[i] <= len && holds(s, len, nd->p[i], nd->len[i])) return 1;
  return 0;
}

/* Deeper than this, a value counts as mentioning (the caller then redacts it all, cycles included):
 * lua-cjson's answers nest 1000 deep at most, real ones a few levels. */
#define SCAN_MAX_DEPTH 32

/*
 * Whether the value at idx (absolute) mentions a needle, looking depth levels further down at
 * most (a cycle ends there, as a yes). No table of the tables seen: an answer's walk allocates
 * nothing. Stack: balanced.
 */
static int value_mentions(lua_State *L, int idx, const scan_needles *nd, int depth) {
  int t = lua_type(L, idx), found = 0;
  if (t == LUA_TSTRING) return string_mentions(L, idx, nd);
  if (t != LUA_TTABLE) return 0;
  if (depth == 0) return 1;
  luaL_checkstack(L, 3, "hy3d.mentions: too deep");
  lua_pushnil(L);                                /* key */
  while (!found && lua_next(L, idx) != 0) {      /* key, value */
    int top = lua_gettop(L);
    found = value_mentions(L, top, nd, depth - 1) || value_mentions(L, top - 1, nd, depth - 1);
    lua_pop(L, 1);                               /* key */
  }
  if (found) lua_pop(L, 1);                      /* the key lua_next left */
  return found;
}

/*
 * core.mentions(v, list) -> boolean. Whether any string reachable from v (v itself, or a key or a
 * value of its tables at any depth) holds any non-empty string of `list` as plain bytes. No string
 * of v is copied or changed; false when the list has no non-empty string. Errs on the side of yes:
 * true past SCAN_MAX_DEPTH levels (so a cycle) or with more than SCAN_MAX_NEEDLES strings.
 */
static int core_mentions(lua_State *L) {
  scan_needles nd;
  int i;
  lua_Integer n;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  nd.n = 0;
  n = (lua_Integer)lua_rawlen(L, 2);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);                        /* anchored by the list, so the pointer stays valid */
    if (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0) {
      if (nd.n == SCAN_MAX_NEEDLES) {            /* more than we keep: say yes, the caller redacts */
        lua_pushboolean(L, 1);
        return 1;
      }
      nd.p[nd.n] = lua_tolstring(L, -1, &nd.len[nd.n]);
      nd.n++;
    }
    lua_pop(L, 1);
  }
  if (nd.n == 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, value_mentions(L, 1, &nd, SCAN_MAX_DEPTH));
  return 1;
}

const luaL_Reg hy3d_scan_funcs[] = {
  {"mentions", core_mentions},
  {NULL, NULL}
};
