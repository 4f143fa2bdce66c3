/* hy3d_scan.c — whether an answer can hold one of a list of strings (a client's secrets), so the Lua layer redacts an answer only when it may echo one: core.mentions walks a decoded value, hy3d_scan_json the JSON text it came from (req:mentions). Calls no other unit. */
#define _GNU_SOURCE                               /* memmem, where libc has it (hy3d_compat.h) */
#include <string.h>

#include "hy3d.h"

#define SCAN_MAX_NEEDLES 16

typedef struct {
  const char *p[SCAN_MAX_NEEDLES];
  size_t len[SCAN_MAX_NEEDLES];
  int n;
} scan_needles;

/* Whether s (len bytes) holds needle (nlen > 0 bytes) anywhere: memmem, or memchr for its first byte then memcmp. */
static int holds(const char *s, size_t len, const char *needle, size_t nlen) {
#if defined(HY3D_HAVE_MEMMEM)
  return memmem(s, len, needle, nlen) != NULL;
#else
  const char *end = s + len, *at = s;
  while ((size_t)(end - at) >= nlen) {
    at = (const char *)memchr(at, (unsigned char)needle[0], (size_t)(end - at) - nlen + 1);
    if (at == NULL) return 0;
    if (memcmp(at, needle, nlen) == 0) return 1;
    at++;
  }
  return 0;
#endif
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

/* The non-empty strings of the list at idx into nd: 0, or -1 when it has more than nd keeps. */
static int collect_needles(lua_State *L, int idx, scan_needles *nd) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, idx);
  nd->n = 0;
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);                      /* anchored by the list, so the pointer stays valid */
    if (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0) {
      if (nd->n == SCAN_MAX_NEEDLES) {
        lua_pop(L, 1);
        return -1;
      }
      nd->p[nd->n] = lua_tolstring(L, -1, &nd->len[nd->n]);
      nd->n++;
    }
    lua_pop(L, 1);
  }
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/*
 * Whether a string decoded from the JSON text s (len bytes) may hold a needle: 0 only when none can.
 * A decoded string holds a needle only if the text holds it as is, or an escape inside the text's
 * occurrence of it makes one of its bytes: so when no escape of the text (\n, \/, \u0026, ...) makes
 * a byte that any needle has (a \u escape past U+007F: any byte from 0x80), the text as is decides.
 */
static int json_may_mention(const char *s, size_t len, const scan_needles *nd) {
  unsigned char has[256];
  size_t i;
  int k, high = 0;
  memset(has, 0, sizeof has);
  for (k = 0; k < nd->n; k++) {
    size_t j;
    for (j = 0; j < nd->len[k]; j++) {
      unsigned char b = (unsigned char)nd->p[k][j];
      has[b] = 1;
      if (b >= 0x80) high = 1;
    }
  }
  for (i = 0; i < len; i++) {
    int b;
    const char *bs = (const char *)memchr(s + i, '\\', len - i);
    if (bs == NULL) break;
    i = (size_t)(bs - s);
    if (i + 1 >= len) return 1;
    switch (s[++i]) {
      case '"': b = '"'; break;
      case '\\': b = '\\'; break;
      case '/': b = '/'; break;
      case 'b': b = '\b'; break;
      case 'f': b = '\f'; break;
      case 'n': b = '\n'; break;
      case 'r': b = '\r'; break;
      case 't': b = '\t'; break;
      case 'u': {
        int h0, h1, h2, h3;
        if (i + 4 >= len) return 1;
        h0 = hexval(s[i + 1]), h1 = hexval(s[i + 2]), h2 = hexval(s[i + 3]), h3 = hexval(s[i + 4]);
        if (h0 < 0 || h1 < 0 || h2 < 0 || h3 < 0) return 1;
        b = (h0 << 12) | (h1 << 8) | (h2 << 4) | h3;
        i += 4;
        if (b >= 0x80) {
          if (high) return 1;
          continue;
        }
        break;
      }
      default: return 1;                         /* not JSON: say maybe */
    }
    if (has[b]) return 1;
  }
  for (k = 0; k < nd->n; k++)
    if (nd->len[k] <= len && holds(s, len, nd->p[k], nd->len[k])) return 1;
  return 0;
}

/*
 * Pushes whether a value decoded from the JSON text s may hold a string of the list at idx
 * (a boolean: false only when none can; see json_may_mention). For req:mentions (hy3d_request.c).
 */
void hy3d_scan_json(lua_State *L, const char *s, size_t len, int idx) {
  scan_needles nd;
  luaL_checktype(L, idx, LUA_TTABLE);
  if (collect_needles(L, idx, &nd) < 0) lua_pushboolean(L, 1);
  else lua_pushboolean(L, nd.n > 0 && json_may_mention(s != NULL ? s : "", len, &nd));
}

/*
 * core.mentions(v, list) -> boolean. Whether any string reachable from v (v itself, or a key or a
 * value of its tables at any depth) holds any non-empty string of `list` as plain bytes. No string
 * of v is copied or changed; false when the list has no non-empty string. Errs on the side of yes:
 * true past SCAN_MAX_DEPTH levels (so a cycle) or with more than SCAN_MAX_NEEDLES strings.
 */
static int core_mentions(lua_State *L) {
  scan_needles nd;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  if (collect_needles(L, 2, &nd) < 0) lua_pushboolean(L, 1);
  else lua_pushboolean(L, nd.n > 0 && value_mentions(L, 1, &nd, SCAN_MAX_DEPTH));
  return 1;
}

const luaL_Reg hy3d_scan_funcs[] = {
  {"mentions", core_mentions},
  {NULL, NULL}
};
