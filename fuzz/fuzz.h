/* fuzz.h — what the libFuzzer harnesses share: a byte reader over the input and a Lua 5.4 state
 * that finds Debian's lua-cjson (hy3d.core requires "cjson" when it opens). Built by `make fuzz`.
 */
#ifndef HY3D_FUZZ_H
#define HY3D_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

/* Where lua-cjson's cjson.so is (the Makefile passes Debian's multiarch path). */
#ifndef HY3D_FUZZ_CJSON_CPATH
#define HY3D_FUZZ_CJSON_CPATH "/usr/lib/x86_64-linux-gnu/lua/5.4/?.so"
#endif

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Consumes the fuzz input front to back; past its end every read yields zeros. */
typedef struct fz {
  const uint8_t *p;
  size_t n;
} fz;

static inline uint8_t fz_u8(fz *f) {
  uint8_t v;
  if (f->n == 0) return 0;
  v = *f->p++;
  f->n--;
  return v;
}

static inline uint16_t fz_u16(fz *f) {
  uint16_t hi = fz_u8(f);
  return (uint16_t)(hi << 8 | fz_u8(f));
}

static inline uint32_t fz_u32(fz *f) {
  uint32_t hi = fz_u16(f);
  return hi << 16 | fz_u16(f);
}

static inline uint64_t fz_u64(fz *f) {
  uint64_t hi = fz_u32(f);
  return hi << 32 | fz_u32(f);
}

/* Up to `max` bytes (the length is the next byte, or two when max > 255). */
static inline const char *fz_bytes(fz *f, size_t max, size_t *len) {
  size_t want = max > 255 ? fz_u16(f) : fz_u8(f);
  const char *s = (const char *)f->p;
  if (want > max) want %= max + 1;
  if (want > f->n) want = f->n;
  f->p += want;
  f->n -= want;
  *len = want;
  return s;
}

/* Any failure of the harness itself, or a broken property of hy3d: report and crash (libFuzzer
 * saves the input as crash-<sha1>). */
#define FZ_CHECK(cond, ...)                                                  \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "fuzz property failed at %s:%d: %s\n  ", __FILE__,     \
              __LINE__, #cond);                                              \
      fprintf(stderr, __VA_ARGS__);                                          \
      fputc('\n', stderr);                                                   \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* A fresh state with the standard libraries and package.cpath set to lua-cjson's directory
 * (whatever LUA_CPATH says). */
static inline lua_State *fz_new_state(void) {
  lua_State *L = luaL_newstate();
  FZ_CHECK(L != NULL, "luaL_newstate failed");
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushliteral(L, HY3D_FUZZ_CJSON_CPATH);
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  return L;
}

/* The status of a lua_pcall that raised: LUA_ERRMEM (documented: out of memory) is always
 * acceptable; LUA_ERRRUN is acceptable where the caller says so. Anything else is a bug. */
static inline const char *fz_errmsg(lua_State *L) {
  const char *m = lua_tostring(L, -1);
  return m != NULL ? m : luaL_typename(L, -1);
}

#endif
