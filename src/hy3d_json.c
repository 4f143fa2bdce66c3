/* hy3d_json.c — the JSON bridge: Lua values to and from JSON text through a private lua-cjson instance. */
#include "hy3d.h"

/*
 * Loads lua-cjson and makes a private instance with cjson.new(), so hy3d's settings never touch
 * the host's cjson. Leaves the instance's encode and decode on the stack (the module's upvalues).
 * Called once per lua_State from luaopen_hy3d_core; raises if lua-cjson is missing.
 */
int hy3d_json_open(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK)
    return luaL_error(L, "hy3d.core needs lua-cjson: %s", lua_tostring(L, -1));
  lua_getfield(L, -1, "new");
  if (!lua_isfunction(L, -1)) return luaL_error(L, "hy3d.core needs lua-cjson with cjson.new()");
  lua_call(L, 0, 1);                       /* cjson, instance */
  lua_getfield(L, -1, "encode");
  lua_getfield(L, -2, "decode");           /* cjson, instance, encode, decode */
  if (!lua_isfunction(L, -1) || !lua_isfunction(L, -2))
    return luaL_error(L, "hy3d.core: cjson.new() returned no encode/decode");
  lua_remove(L, -3);
  lua_remove(L, -3);                       /* encode, decode */
  return 2;
}

/*
 * Encodes the value at idx. On success pushes the JSON text and returns 1; on failure (a value
 * JSON cannot hold: function, NaN, excessively sparse array, cycle) pushes a message, returns 0.
 */
int hy3d_json_encode(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, HY3D_UV_ENCODE);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return 0;
  return 1;
}

/* Decodes len bytes. Pushes the value and returns 1, or pushes a message and returns 0. */
int hy3d_json_decode(lua_State *L, const char *s, size_t len) {
  lua_pushvalue(L, HY3D_UV_DECODE);
  lua_pushlstring(L, s, len);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return 0;
  return 1;
}

/* core.encode(value) -> json | nil, message */
static int json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  if (hy3d_json_encode(L, 1)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* core.decode(json) -> value | nil, message */
static int json_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (hy3d_json_decode(L, s, len)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

const luaL_Reg hy3d_json_funcs[] = {
  {"encode", json_encode},
  {"decode", json_decode},
  {NULL, NULL}
};
