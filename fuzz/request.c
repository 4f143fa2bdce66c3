/* fuzz/request.c — libFuzzer harness for everything that turns Lua values into a request: bytes →
 * random Lua value trees (nested tables, strings with any bytes, integers, NaN/inf/huge floats,
 * booleans, cycles, deep chains, sparse arrays, unencodable values) → core.encode / core.decode,
 * core.tc3_sign with fuzzed fields, the base64 round trip, core.new with fuzzed options (timeouts,
 * stall, TLS files, credentials, envelope), and engine:request as the client makes it (a gateway
 * submit and query, a signed API 3.0 action) and with a fuzzed method, target and body, on an
 * engine pointed at http://127.0.0.1:1 whose requests are never driven (closed at once, left to
 * __gc, or cancelled by engine:close).
 *
 * Nothing may crash (ASan/UBSan watch the whole core, linked in statically), and a raise must be
 * an ordinary Lua error: a string message, and only where the API documents one (a wrong argument
 * type or value). The properties checked are in DRIVER below; a broken one aborts with its reason.
 *
 * Input: a sequence of up to 8 operations, each an opcode byte and its operands (see run_op).
 */
#include <math.h>

#include "fuzz.h"
#include "hy3d.h"

/*
 * The checks, in Lua: DRIVER returns a table of functions the C side calls with the values it
 * built. fail(message) aborts the process (a broken property); everything else is pcall'ed here.
 */
static const char DRIVER[] =
  "local core, fail = ...\n"
  "local D, engine = {}, nil\n"
  "local KEY = 'fuzzSecretKey-0123456789abcdef'\n"
  "local function nonempty_alnum(s) return type(s) == 'string' and s:match('^[%w]+$') ~= nil end\n"
  /* what hy3d.doors tells the client (the harness may name the service; src/ may not) */
  "local SUBMIT, QUERY = '/v1/ai3d/submit', '/v1/ai3d/query'\n"
  "local function body_ok(v) return v == nil or type(v) == 'table' or type(v) == 'string' end\n"
  /* a raise must be an ordinary error: a string */
  "local function ordinary(what, ok, err)\n"
  "  if not ok and type(err) ~= 'string' then fail(what .. ' raised a non-string ' .. type(err)) end\n"
  "  return ok\n"
  "end\n"
  /* an error value returned (not raised) by the core: a table with a kind */
  "local function check_err(what, err)\n"
  "  if type(err) ~= 'table' or type(err.kind) ~= 'string' then fail(what .. ': error is not an error table') end\n"
  "  if err.message ~= nil and type(err.message) ~= 'string' then fail(what .. ': message not a string') end\n"
  "end\n"
  "function D.begin()\n"
  "  engine = core.new { base_url = 'http://127.0.0.1:1', timeout = 1, connect_timeout = 1,\n"
  "    authorization = 'Bearer sk-fuzz', tc3 = { secret_id = 'AKIDfuzz', secret_key = KEY, version = '2025-05-13',\n"
  "    region = 'ap-guangzhou', service = 'ai3d' },\n"
  "    envelope = { root = 'Response', error = 'Error', code = 'Code', message = 'Message', request_id = 'RequestId',\n"
  "      http_error = 'error' } }\n"
  "end\n"
  "function D.finish(collect)\n"
  "  if collect then collectgarbage() end\n"     /* requests left unclosed: __gc first */
  "  if engine:close() ~= true then fail('engine:close') end\n"   /* cancels whatever is still attached */
  "  engine = nil\n"
  "end\n"
  /* core.encode never raises; what it encodes, core.decode takes back */
  "function D.encode(v)\n"
  "  local ok, s, msg = pcall(core.encode, v)\n"
  "  if not ok then fail('core.encode raised: ' .. tostring(s)) end\n"
  "  if s == nil then\n"
  "    if type(msg) ~= 'string' then fail('core.encode failed without a message') end\n"
  "    return\n"
  "  end\n"
  "  if type(s) ~= 'string' then fail('core.encode returned a ' .. type(s)) end\n"
  "  local ok2, v2, m2 = pcall(core.decode, s)\n"
  "  if not ok2 then fail('core.decode raised on core.encode output: ' .. tostring(v2)) end\n"
  "  if v2 == nil and m2 ~= nil then fail('core.decode refused core.encode output: ' .. m2 .. ' in ' .. s:sub(1, 300)) end\n"
  "end\n"
  "function D.decode(s)\n"
  "  local ok, v, msg = pcall(core.decode, s)\n"
  "  if not ok then fail('core.decode raised: ' .. tostring(v)) end\n"
  "  if v == nil and msg ~= nil and type(msg) ~= 'string' then fail('core.decode: message not a string') end\n"
  "  if v ~= nil then D.encode(v) end\n"
  "end\n"
  /* base64: encode/decode round trip, the alphabet and length; decode never raises */
  "function D.base64(s)\n"
  "  local ok, e = pcall(core.base64_encode, s)\n"
  "  if not ok then fail('base64_encode raised: ' .. tostring(e)) end\n"
  "  if #e ~= 4 * math.ceil(#s / 3) or not e:match('^[A-Za-z0-9+/]*=?=?$') then fail('base64_encode output: ' .. e:sub(1, 100)) end\n"
  "  local ok2, d, m = pcall(core.base64_decode, e)\n"
  "  if not ok2 then fail('base64_decode raised on base64_encode output: ' .. tostring(d)) end\n"
  "  if d ~= s then fail('base64 round trip differs (' .. tostring(m) .. ')') end\n"
  "  local ok3, d3, m3 = pcall(core.base64_decode, s)\n"
  "  if not ok3 then fail('base64_decode raised: ' .. tostring(d3)) end\n"
  "  if d3 == nil and type(m3) ~= 'string' then fail('base64_decode failed without a message') end\n"
  "  if d3 ~= nil and type(d3) ~= 'string' then fail('base64_decode returned a ' .. type(d3)) end\n"
  "end\n"
  /* tc3_sign: a raise is an ordinary error that never shows the secret key; a signature is
   * well formed and deterministic */
  "function D.tc3(t)\n"
  "  local ok, auth, steps = pcall(core.tc3_sign, t)\n"
  "  if not ordinary('tc3_sign', ok, auth) then\n"
  "    local key = type(t.secret_key) == 'string' and t.secret_key or nil\n"
  /* the key's text may also be the message's own words or another field's: it leaked only if
   * the same call with a stand-in key of the same length no longer shows it */
  "    if key and #key >= 12 and auth:find(key, 1, true) then\n"
  "      local u = {} ; for k, v in pairs(t) do u[k] = v end\n"
  "      u.secret_key = ('#'):rep(#key)\n"
  "      local ok2, auth2 = pcall(core.tc3_sign, u)\n"
  "      if ok2 or not tostring(auth2):find(key, 1, true) then\n"
  "        fail('tc3_sign error shows the secret key: ' .. auth)\n"
  "      end\n"
  "    end\n"
  "    return\n"
  "  end\n"
  "  if type(auth) ~= 'string' or auth:sub(1, 27 + #t.secret_id) ~= 'TC3-HMAC-SHA256 Credential=' .. t.secret_id then\n"
  "    fail('tc3_sign: malformed authorization')\n"
  "  end\n"
  "  if type(steps) ~= 'table' or type(steps.signature) ~= 'string' or not steps.signature:match('^%x+$')\n"
  "     or #steps.signature ~= 64 then fail('tc3_sign: malformed signature') end\n"
  "  local ok2, auth2 = pcall(core.tc3_sign, t)\n"
  "  if not ok2 or auth2 ~= auth then fail('tc3_sign is not deterministic') end\n"
  "end\n"
  /* a request that is never driven: closed at once, or left to the collector / engine:close */
  "local function settle(what, ok, req, err, keep)\n"
  "  if not ok then return end\n"
  "  if req == nil then check_err(what, err) return end\n"
  "  if type(req) ~= 'userdata' then fail(what .. ' returned a ' .. type(req)) end\n"
  "  if req:done() then fail(what .. ': done before it was driven') end\n"
  "  if not keep then req:close() ; if req:close() ~= true then fail(what .. ': second close') end end\n"
  "end\n"
  /* a submit (a table, a string or no body, and no timeout) never raises; else only an ordinary error */
  "function D.submit(v, timeout, keep)\n"
  "  local ok, req, err = pcall(engine.request, engine, 'POST', SUBMIT, v, timeout, true)\n"
  "  ordinary('submit', ok, req)\n"
  "  if not ok and body_ok(v) and timeout == nil then fail('submit raised: ' .. req) end\n"
  "  if ok and req == nil and err.code ~= 'JSON_ENCODE' then fail('submit error ' .. tostring(err.code)) end\n"
  "  settle('submit', ok, req, err, keep)\n"
  "end\n"
  /* a signed action: raises only for a bad action, body or timeout, and never shows the key */
  "function D.call(action, v, timeout, keep, fresh)\n"
  "  local ok, req, err = pcall(engine.request, engine, 'POST', '/', v, timeout, fresh, action)\n"
  "  ordinary('call', ok, req)\n"
  "  if not ok and nonempty_alnum(action) and body_ok(v) and timeout == nil then fail('call raised: ' .. req) end\n"
  "  if not ok and tostring(req):find(KEY, 1, true) then fail('call error shows the secret key') end\n"
  "  settle('call', ok, req, err, keep)\n"
  "end\n"
  /* a query of any JobId never raises without a timeout; the value as a target or method: ordinary errors */
  "function D.query(id, timeout, keep)\n"
  "  local ok, req, err = pcall(engine.request, engine, 'POST', QUERY, { JobId = id }, timeout)\n"
  "  ordinary('query', ok, req)\n"
  "  if not ok and timeout == nil then fail('query raised: ' .. req) end\n"
  "  settle('query', ok, req, err, keep)\n"
  "  ok, req, err = pcall(engine.request, engine, 'GET', id, nil, timeout)\n"
  "  ordinary('target', ok, req)\n"
  "  if not ok and type(id) == 'string' and not id:find('[\\0\\r\\n]') and timeout == nil then\n"
  "    fail('a target raised: ' .. req) end\n"
  "  settle('target', ok, req, err, keep)\n"
  "  ok, req = pcall(engine.request, engine, id, QUERY)\n"
  "  ordinary('method', ok, req)\n"
  "  if ok ~= (id == 'GET' or id == 'POST') then fail('method ' .. tostring(id) .. (ok and ' taken' or ' refused')) end\n"
  "  settle('method', ok, req, nil, keep)\n"
  "end\n"
  /* core.new with fuzzed options: an engine, or an ordinary error */
  "function D.new(opts)\n"
  "  local ok, e = pcall(core.new, opts)\n"
  "  if ordinary('core.new', ok, e) then\n"
  "    if type(e) ~= 'userdata' then fail('core.new returned a ' .. type(e)) end\n"
  "    tostring(e)\n"
  "    if e:close() ~= true then fail('engine close') end\n"
  "    e:close()\n"
  "  end\n"
  "end\n"
  "return D\n";

static lua_State *FL;
static int driver_ref = LUA_NOREF;
static unsigned long runs, stats_every;

#define MAX_NODES 4096
#define MAX_DEPTH 24
#define MAX_ANCESTORS 64

typedef struct builder {
  fz *f;
  int nodes;
  int anc[MAX_ANCESTORS];      /* stack indices of the tables being filled (for cycles) */
  int nanc;
} builder;

static int fail_fn(lua_State *L) {
  fprintf(stderr, "fuzz property failed: %s\n", luaL_tolstring(L, 1, NULL));
  abort();
  return 0;
}

static const char *const WORDS[] = {
  "", "Prompt", "Response", "Error", "Code", "Message", "JobId", "RequestId", "ImageBase64", "ImageUrl",
  "ResultFile3Ds", "Status", "FaceCount", "EnablePBR", "MultiViewImages", "error", "message", "code",
  "\xe4\xb8\xad\xe6\x96\x87", "\xff\xfe", "a\0b", "\\u0000", "\"", "null", "true", "1e309", "-0",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static const char *const HEADERS[] = {
  "content-type;host", "host", "content-type", "content-type;host;x-tc-action",
  "x-tc-action;x-tc-timestamp;content-type;host", "Host;Content-Type", "a;a;a", ";", "host;", "x",
};
#define NHEADERS (sizeof HEADERS / sizeof HEADERS[0])

static void push_word(lua_State *L, fz *f) {
  uint8_t i = fz_u8(f);
  const char *w = WORDS[i % NWORDS];
  lua_pushlstring(L, w, (i % NWORDS) == 20 ? 3 : strlen(w));
}

static void push_fuzz_string(lua_State *L, fz *f, size_t max) {
  size_t len;
  const char *s = fz_bytes(f, max, &len);
  lua_pushlstring(L, s, len);
}

static void push_special_number(lua_State *L, fz *f) {
  switch (fz_u8(f) % 14) {
    case 0: lua_pushnumber(L, (lua_Number)NAN); break;
    case 1: lua_pushnumber(L, (lua_Number)INFINITY); break;
    case 2: lua_pushnumber(L, -(lua_Number)INFINITY); break;
    case 3: lua_pushnumber(L, -0.0); break;
    case 4: lua_pushnumber(L, 9007199254740993.0); break;
    case 5: lua_pushnumber(L, 9223372036854775808.0); break;
    case 6: lua_pushnumber(L, 1e308); break;
    case 7: lua_pushnumber(L, 5e-324); break;
    case 8: lua_pushnumber(L, 0.1); break;
    case 9: lua_pushinteger(L, LUA_MININTEGER); break;
    case 10: lua_pushinteger(L, LUA_MAXINTEGER); break;
    case 11: lua_pushnumber(L, 1e9); break;
    case 12: lua_pushnumber(L, 999999999.999); break;
    default: lua_pushinteger(L, 0); break;
  }
}

static void push_value(lua_State *L, builder *b, int depth);

/* A table with n entries: an array part (values only) or a map (fuzzed keys). */
static void push_table(lua_State *L, builder *b, int depth, int map) {
  int n = fz_u8(b->f) % 16, i, t;
  lua_createtable(L, map ? 0 : n, map ? n : 0);
  t = lua_gettop(L);
  if (b->nanc < MAX_ANCESTORS) b->anc[b->nanc++] = t;
  for (i = 1; i <= n && b->f->n > 0; i++) {
    if (map) {
      uint8_t k = fz_u8(b->f) % 6;
      if (k == 0) push_word(L, b->f);
      else if (k == 1) push_fuzz_string(L, b->f, 64);
      else if (k == 2) lua_pushinteger(L, (lua_Integer)(int16_t)fz_u16(b->f));
      else if (k == 3) push_special_number(L, b->f);
      else if (k == 4) lua_pushboolean(L, fz_u8(b->f) & 1);
      else push_value(L, b, depth + 1);
      if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TNUMBER && isnan(lua_tonumber(L, -1)))) {
        lua_pop(L, 1);                           /* not a valid key */
        continue;
      }
    } else {
      lua_pushinteger(L, i);
    }
    push_value(L, b, depth + 1);
    lua_rawset(L, t);
  }
  if (b->nanc > 0 && b->anc[b->nanc - 1] == t) b->nanc--;
}

/* Pushes one value made from the input. */
static void push_value(lua_State *L, builder *b, int depth) {
  uint8_t op = fz_u8(b->f);
  luaL_checkstack(L, 8, "fuzz builder");
  if (++b->nodes > MAX_NODES || depth > MAX_DEPTH) op = 3;   /* leaves only from here */
  switch (op % 18) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, 0); break;
    case 2: lua_pushboolean(L, 1); break;
    case 3: lua_pushinteger(L, (lua_Integer)(int8_t)fz_u8(b->f)); break;
    case 4: lua_pushinteger(L, (lua_Integer)fz_u64(b->f)); break;
    case 5: {
      uint64_t bits = fz_u64(b->f);
      double d;
      memcpy(&d, &bits, sizeof d);
      lua_pushnumber(L, (lua_Number)d);
      break;
    }
    case 6: push_special_number(L, b->f); break;
    case 7: push_fuzz_string(L, b->f, 4096); break;
    case 8: push_word(L, b->f); break;
    case 9: case 10: push_table(L, b, depth, 0); break;
    case 11: case 12: push_table(L, b, depth, 1); break;
    case 13:                                     /* a cycle: one of the tables being filled */
      if (b->nanc > 0) lua_pushvalue(L, b->anc[fz_u8(b->f) % b->nanc]);
      else lua_newtable(L);
      break;
    case 14: {                                   /* a chain of nested tables, past cjson's depth limit */
      int n = fz_u16(b->f) % 1200, i;
      lua_newtable(L);
      for (i = 0; i < n; i++) {
        lua_createtable(L, 1, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
      }
      break;
    }
    case 15: {                                   /* a sparse array */
      lua_newtable(L);
      lua_pushinteger(L, (lua_Integer)fz_u32(b->f));
      push_value(L, b, depth + 1);
      if (lua_isnil(L, -1)) lua_pop(L, 2); else lua_rawset(L, -3);
      lua_pushinteger(L, 1);
      lua_rawseti(L, -2, 1);
      break;
    }
    case 16:                                     /* values JSON cannot hold */
      if (fz_u8(b->f) & 1) lua_pushcfunction(L, fail_fn); else lua_pushlightuserdata(L, (void *)b);
      break;
    default: {                                   /* a long string */
      size_t n = (size_t)fz_u16(b->f);
      char *s = (char *)malloc(n + 1);
      FZ_CHECK(s != NULL, "malloc");
      memset(s, 'A' + fz_u8(b->f) % 60, n);
      lua_pushlstring(L, s, n);
      free(s);
      break;
    }
  }
}

static void push_tree(lua_State *L, fz *f) {
  builder b;
  memset(&b, 0, sizeof b);
  b.f = f;
  push_value(L, &b, 0);
}

/* A table for tc3_sign / core.new: each field absent, a good value, a fuzzed string or any value. */
static void set_field(lua_State *L, fz *f, const char *name, const char *good) {
  switch (fz_u8(f) % 5) {
    case 0: return;
    case 1: case 2: lua_pushstring(L, good); break;
    case 3: push_fuzz_string(L, f, 600); break;
    default: push_tree(L, f); break;
  }
  lua_setfield(L, -2, name);
}

static void set_number_field(lua_State *L, fz *f, const char *name, lua_Number good) {
  switch (fz_u8(f) % 5) {
    case 0: return;
    case 1: lua_pushnumber(L, good); break;
    case 2: push_special_number(L, f); break;
    case 3: lua_pushinteger(L, (lua_Integer)fz_u64(f)); break;
    default: push_tree(L, f); break;
  }
  lua_setfield(L, -2, name);
}

static void push_tc3_table(lua_State *L, fz *f) {
  int i, n;
  lua_newtable(L);
  set_field(L, f, "secret_id", "AKIDfuzz0123456789");
  set_field(L, f, "secret_key", "fuzzSecretKey-0123456789abcdef");
  set_field(L, f, "payload", "{\"Prompt\":\"a chair\"}");
  set_field(L, f, "host", "hunyuan.tencentcloudapi.com");
  set_field(L, f, "content_type", "application/json; charset=utf-8");
  set_field(L, f, "service", "ai3d");
  if (fz_u8(f) & 1) {
    lua_pushstring(L, HEADERS[fz_u8(f) % NHEADERS]);
    lua_setfield(L, -2, "signed_headers");
  } else {
    set_field(L, f, "signed_headers", "content-type;host");
  }
  set_number_field(L, f, "timestamp", 1700000000);
  if (fz_u8(f) & 1) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "unsigned_payload");
  }
  switch (fz_u8(f) % 3) {
    case 0: break;
    case 1:
      lua_newtable(L);
      n = fz_u8(f) % 6;
      for (i = 0; i < n; i++) {
        if (fz_u8(f) & 1) lua_pushstring(L, (const char *[]){"x-tc-action", "x-tc-timestamp", "a", "x"}[fz_u8(f) % 4]);
        else push_fuzz_string(L, f, 32);
        if (fz_u8(f) & 1) push_fuzz_string(L, f, 128); else push_tree(L, f);
        if (lua_isnil(L, -1)) lua_pop(L, 2); else lua_rawset(L, -3);
      }
      lua_setfield(L, -2, "headers");
      break;
    default:
      push_tree(L, f);
      lua_setfield(L, -2, "headers");
      break;
  }
}

static void push_new_options(lua_State *L, fz *f) {
  lua_newtable(L);
  switch (fz_u8(f) % 4) {
    case 0: lua_pushliteral(L, "http://127.0.0.1:1"); break;
    case 1: push_fuzz_string(L, f, 300); break;
    case 2: push_fuzz_string(L, f, 300); lua_pushliteral(L, "http://"); lua_insert(L, -2); lua_concat(L, 2); break;
    default: push_tree(L, f); break;
  }
  lua_setfield(L, -2, "base_url");
  set_number_field(L, f, "timeout", 30);
  set_number_field(L, f, "connect_timeout", 5);
  set_field(L, f, "user_agent", "hy3d-fuzz/1");
  set_field(L, f, "authorization", "Bearer sk-fuzz");
  set_number_field(L, f, "stall", 30);
  set_field(L, f, "ca_file", "/etc/ssl/certs/ca-certificates.crt");
  set_field(L, f, "ca_path", "/etc/ssl/certs");
  set_field(L, f, "insecure", "yes");
  if (fz_u8(f) % 3 == 0) {
    push_tree(L, f);
  } else {
    lua_newtable(L);
    set_field(L, f, "secret_id", "AKIDfuzz");
    set_field(L, f, "secret_key", "fuzzSecretKey");
    set_field(L, f, "token", "sts-token");
    set_field(L, f, "region", "ap-guangzhou");
    set_field(L, f, "version", "2025-05-13");
    set_field(L, f, "language", "en-US");
    set_field(L, f, "service", "ai3d");
  }
  lua_setfield(L, -2, "tc3");
  switch (fz_u8(f) % 3) {                         /* the envelope: absent, names (any values), any value */
    case 0: return;
    case 1:
      lua_newtable(L);
      set_field(L, f, "root", "Response");
      set_field(L, f, "error", "Error");
      set_field(L, f, "code", "Code");
      set_field(L, f, "message", "Message");
      set_field(L, f, "request_id", "RequestId");
      set_field(L, f, "http_error", "error");
      break;
    default: push_tree(L, f); break;
  }
  lua_setfield(L, -2, "envelope");
}

/* An optional timeout: mostly absent, else any number or value. */
static void push_timeout(lua_State *L, fz *f) {
  uint8_t k = fz_u8(f) % 8;
  if (k < 5) lua_pushnil(L);
  else if (k == 5) lua_pushnumber(L, 0.5);
  else if (k == 6) push_special_number(L, f);
  else push_tree(L, f);
}

/* Calls D[name] with the nargs values on top. D never raises: its checks abort on failure. */
static void call_driver(lua_State *L, const char *name, int nargs) {
  int rc;
  lua_rawgeti(L, LUA_REGISTRYINDEX, driver_ref);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_insert(L, -1 - nargs);
  rc = lua_pcall(L, nargs, 0, 0);
  if (rc == LUA_ERRMEM) {                        /* the documented out-of-memory path */
    lua_pop(L, 1);
    return;
  }
  FZ_CHECK(rc == LUA_OK, "driver %s raised (status %d): %s", name, rc, fz_errmsg(L));
}

static void run_op(lua_State *L, fz *f) {
  int base = lua_gettop(L);
  uint8_t op = fz_u8(f);
  switch (op % 9) {
    case 0: push_tree(L, f); call_driver(L, "encode", 1); break;
    case 1: push_fuzz_string(L, f, 4096); call_driver(L, "decode", 1); break;
    case 2: push_fuzz_string(L, f, 4096); call_driver(L, "base64", 1); break;
    case 3: push_tc3_table(L, f); call_driver(L, "tc3", 1); break;
    case 4:
      if (op & 16) push_tree(L, f); else { lua_newtable(L); push_tree(L, f); lua_setfield(L, -2, "Prompt"); }
      push_timeout(L, f);
      lua_pushboolean(L, op & 32);
      call_driver(L, "submit", 3);
      break;
    case 5:
      if (op & 16) push_fuzz_string(L, f, 64); else push_word(L, f);
      if (op & 64) {
        lua_pop(L, 1);
        lua_pushliteral(L, "SubmitHunyuanTo3DProJob");
      }
      push_tree(L, f);
      push_timeout(L, f);
      lua_pushboolean(L, op & 32);
      lua_pushboolean(L, op & 128);               /* fresh: a new connection (submits) */
      call_driver(L, "call", 5);
      break;
    case 6:
      if (op & 16) push_tree(L, f); else push_fuzz_string(L, f, 256);
      push_timeout(L, f);
      lua_pushboolean(L, op & 32);
      call_driver(L, "query", 3);
      break;
    case 7: push_new_options(L, f); call_driver(L, "new", 1); break;
    default: push_fuzz_string(L, f, 4096); call_driver(L, "decode", 1); break;
  }
  lua_settop(L, base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (getenv("HY3D_FUZZ_STATS") != NULL) stats_every = strtoul(getenv("HY3D_FUZZ_STATS"), NULL, 10);
  FL = fz_new_state();
  luaL_requiref(FL, "hy3d.core", luaopen_hy3d_core, 0);   /* requires cjson; raises here if missing */
  FZ_CHECK(luaL_loadbuffer(FL, DRIVER, sizeof DRIVER - 1, "=driver") == LUA_OK, "driver: %s", fz_errmsg(FL));
  lua_insert(FL, -2);                                       /* driver, core */
  lua_pushcfunction(FL, fail_fn);
  FZ_CHECK(lua_pcall(FL, 2, 1, 0) == LUA_OK, "driver: %s", fz_errmsg(FL));
  driver_ref = luaL_ref(FL, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f = {data, size};
  int i;
  lua_settop(FL, 0);
  call_driver(FL, "begin", 0);
  for (i = 0; i < 8 && f.n > 0; i++) run_op(FL, &f);
  lua_pushboolean(FL, size > 0 && (data[0] & 128));
  call_driver(FL, "finish", 1);
  lua_settop(FL, 0);
  lua_gc(FL, LUA_GCCOLLECT, 0);   /* frees this input's garbage: libFuzzer's per-input leak check stays on */
  if (stats_every > 0 && ++runs % stats_every == 0)   /* HY3D_FUZZ_STATS=N: the Lua heap every N inputs */
    fprintf(stderr, "hy3d-fuzz: %lu inputs, Lua heap %d KB\n", runs, lua_gc(FL, LUA_GCCOUNT, 0));
  return 0;
}
