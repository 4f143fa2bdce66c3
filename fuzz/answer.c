/* fuzz/answer.c — libFuzzer harness for the readers of a JSON answer in a file (the self-hosted
 * door's big /status answers): bytes → a file → core.json_skim (long strings replaced by their
 * length) and core.json_b64_field (one field's base64 decoded, streaming, into another file).
 *
 * Nothing may crash (ASan/UBSan watch the whole core) and neither may raise: each returns its
 * value (a text no longer than max_out; a byte count >= 0) or nil and an error table with a kind.
 * Input: one byte for skim's length limit, one for the field's name, then the answer's bytes.
 */
#include <unistd.h>

#include "fuzz.h"
#include "hy3d.h"

static const char DRIVER[] =
  "local core, fail = ...\n"
  "local function check_err(what, err)\n"
  "  if type(err) ~= 'table' or type(err.kind) ~= 'string' or type(err.code) ~= 'string' then\n"
  "    fail(what .. ': no error table') end\n"
  "end\n"
  "return function(src, dst, limit, max_out, field)\n"
  "  local ok, text, err = pcall(core.json_skim, src, limit, max_out)\n"
  "  if not ok then fail('json_skim raised: ' .. tostring(text)) end\n"
  "  if text == nil then check_err('json_skim', err)\n"
  "  elseif type(text) ~= 'string' or #text > max_out then fail('json_skim returned a bad text') end\n"
  "  local ok2, n, err2 = pcall(core.json_b64_field, src, field, dst)\n"
  "  if not ok2 then fail('json_b64_field raised: ' .. tostring(n)) end\n"
  "  if n == nil then check_err('json_b64_field', err2)\n"
  "  elseif math.type(n) ~= 'integer' or n < 0 then fail('json_b64_field returned a bad count') end\n"
  "end\n";

static const char *const FIELDS[] = {"model_base64", "model_base64_initial", "status", "", "a\"b", "\\u006d"};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

static lua_State *FL;
static int driver_ref = LUA_NOREF;
static char src_path[64], dst_path[64];

static int fail_fn(lua_State *L) {
  fprintf(stderr, "fuzz property failed: %s\n", luaL_tolstring(L, 1, NULL));
  abort();
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  snprintf(src_path, sizeof src_path, "/tmp/hy3d-fuzz-answer-%ld.json", (long)getpid());
  snprintf(dst_path, sizeof dst_path, "/tmp/hy3d-fuzz-answer-%ld.glb", (long)getpid());
  FL = fz_new_state();
  luaL_requiref(FL, "hy3d.core", luaopen_hy3d_core, 0);
  FZ_CHECK(luaL_loadbuffer(FL, DRIVER, sizeof DRIVER - 1, "=driver") == LUA_OK, "driver: %s", fz_errmsg(FL));
  lua_insert(FL, -2);
  lua_pushcfunction(FL, fail_fn);
  FZ_CHECK(lua_pcall(FL, 2, 1, 0) == LUA_OK, "driver: %s", fz_errmsg(FL));
  driver_ref = luaL_ref(FL, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f = {data, size};
  uint8_t limit = fz_u8(&f), which = fz_u8(&f);
  FILE *out = fopen(src_path, "wb");
  int rc;
  FZ_CHECK(out != NULL, "cannot write %s", src_path);
  if (f.n > 0) FZ_CHECK(fwrite(f.p, 1, f.n, out) == f.n, "short write");
  FZ_CHECK(fclose(out) == 0, "close");
  lua_rawgeti(FL, LUA_REGISTRYINDEX, driver_ref);
  lua_pushstring(FL, src_path);
  lua_pushstring(FL, dst_path);
  lua_pushinteger(FL, limit % 64);
  lua_pushinteger(FL, 4096);
  lua_pushstring(FL, FIELDS[which % NFIELDS]);
  rc = lua_pcall(FL, 5, 0, 0);
  FZ_CHECK(rc == LUA_OK || rc == LUA_ERRMEM, "driver raised: %s", fz_errmsg(FL));
  if (rc != LUA_OK) lua_pop(FL, 1);
  lua_settop(FL, 0);
  lua_gc(FL, LUA_GCCOLLECT, 0);
  return 0;
}
