/* fuzz/response.c — libFuzzer harness for the response path (src/hy3d_result.c, with the write and
 * header callbacks of src/hy3d_handle.c and src/hy3d_download.c): bytes → the state a finished
 * transfer leaves in a hy3d_request (body collected through the real libcurl write callback, HTTP
 * status, CURLcode, cancel/too-large/write-error flags, libcurl's error buffer) → the
 * classification req:result() returns (hy3d_push_api_result / hy3d_push_file_result: JSON decode,
 * the envelope the client gives core.new ({"Response": …}, Error, RequestId, "error") or none, the
 * HTTP status).
 *
 * Linked against the core's objects like any caller (the Makefile's `fuzz` target). Every input
 * must give a value or nil plus an error table; a Lua error escaping is a bug unless it is out of
 * memory (LUA_ERRMEM).
 *
 * Input layout (13 bytes of header, then the body):
 *   0     flags: bit 0 download (else API call), bit 1 cancelled, bit 2 too large,
 *         bits 3-4 write error (0 none, 1 ENOMEM, 2 ENOSPC, 3 EIO), bit 5 errbuf follows the header,
 *         bit 6 the body's start also goes through the download header callback (Content-Range),
 *         bit 7 no envelope (an engine made without one: nothing unwrapped)
 *   1     CURLcode (any byte: unknown codes too)
 *   2-3   HTTP status, big-endian int16 (negative and absurd ones too)
 *   4     chunk size of the write callback calls (0: the whole body at once)
 *   5-8   bytes written (downloads), big-endian int32
 *   9-12  max_bytes (downloads), big-endian int32
 *   [errbuf: a length byte and that many bytes, when bit 5 is set]
 *   body
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hy3d.h"
#include "fuzz.h"

/* The envelope hy3d.doors gives core.new for both doors, and none. */
static const hy3d_envelope SERVICE_ENVELOPE = {"Response", "Error", "Code", "Message", "RequestId", "error"};
static const hy3d_envelope NO_ENVELOPE;

static lua_State *FL;
static int classify_ref = LUA_NOREF;
static CURL *probe;               /* a fresh easy handle: what getinfo reads for a request */

/* classify(request) -> what req:result() returns; the closure carries hy3d's JSON upvalues. */
static int classify(lua_State *L) {
  hy3d_request *r = (hy3d_request *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  return r->kind == HY3D_KIND_FILE ? hy3d_push_file_result(L, r) : hy3d_push_api_result(L, r);
}

/* Runs in a protected call: hy3d's private lua-cjson instance, then the classify closure. */
static int setup(lua_State *L) {
  hy3d_json_open(L);                            /* encode, decode */
  lua_pushcclosure(L, classify, HY3D_NUPVALUES);
  return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  FZ_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, "curl_global_init failed");
  probe = curl_easy_init();
  FZ_CHECK(probe != NULL, "curl_easy_init failed");
  FL = fz_new_state();
  lua_pushcfunction(FL, setup);
  FZ_CHECK(lua_pcall(FL, 0, 1, 0) == LUA_OK, "setup: %s", fz_errmsg(FL));
  classify_ref = luaL_ref(FL, LUA_REGISTRYINDEX);
  return 0;
}

static int is_kind(const char *k) {
  static const char *const kinds[] = {"network", "http", "api", "decode", "io", "timeout", NULL};
  int i;
  for (i = 0; kinds[i] != NULL; i++)
    if (strcmp(k, kinds[i]) == 0) return 1;
  return 0;
}

/* Checks the values classify left on the stack (nret of them) against the documented contract. */
static void check_outcome(lua_State *L, const hy3d_request *r, int nret) {
  int ok2xx = r->http_status >= 200 && r->http_status < 300;
  int transfer_ok = r->result == CURLE_OK && !r->cancelled;
  if (nret == 1 || (nret == 2 && !lua_isnil(L, 1))) {   /* a value (a download: its size and offset) */
    FZ_CHECK(transfer_ok && ok2xx, "a value for result %d, status %ld, cancelled %d", (int)r->result,
             r->http_status, r->cancelled);
    if (r->kind == HY3D_KIND_FILE) {
      FZ_CHECK(nret == 2 && lua_isinteger(L, 1) && lua_tointeger(L, 1) == (lua_Integer)(r->offset + r->bytes)
               && lua_isinteger(L, 2) && lua_tointeger(L, 2) == (lua_Integer)r->offset, "download result %s",
               luaL_typename(L, 1));
    } else {
      FZ_CHECK(nret == 1, "an API result with %d values", nret);
      FZ_CHECK(lua_istable(L, 1), "API result is a %s", luaL_typename(L, 1));
      if (r->envelope == &SERVICE_ENVELOPE) {
        lua_getfield(L, 1, "Error");
        FZ_CHECK(!lua_istable(L, -1), "a value that carries an Error table");
        lua_pop(L, 1);
      }
    }
    return;
  }
  FZ_CHECK(nret == 2, "classify returned %d values", nret);
  FZ_CHECK(lua_isnil(L, 1), "first of two results is a %s", luaL_typename(L, 1));
  FZ_CHECK(lua_istable(L, 2), "error is a %s", luaL_typename(L, 2));
  lua_getfield(L, 2, "kind");
  FZ_CHECK(lua_type(L, -1) == LUA_TSTRING && is_kind(lua_tostring(L, -1)), "error kind %s",
           lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
  if (!transfer_ok) {
    FZ_CHECK(strcmp(lua_tostring(L, -1), "network") == 0 || strcmp(lua_tostring(L, -1), "io") == 0 ||
             strcmp(lua_tostring(L, -1), "decode") == 0 || strcmp(lua_tostring(L, -1), "timeout") == 0,
             "a failed transfer classified as %s",
             lua_tostring(L, -1));
  }
  lua_pop(L, 1);
  lua_getfield(L, 2, "message");
  FZ_CHECK(lua_isnil(L, -1) || lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER,
           "message is a %s", luaL_typename(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, 2, "code");
  FZ_CHECK(lua_isnil(L, -1) || lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER,
           "code is a %s", luaL_typename(L, -1));
  lua_pop(L, 1);
}

/* One classification in a protected call; returns the number of results (or -1 after OOM). */
static int run_classify(lua_State *L, hy3d_request *r) {
  int rc;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, classify_ref);
  lua_pushlightuserdata(L, (void *)r);
  rc = lua_pcall(L, 1, LUA_MULTRET, 0);
  if (rc == LUA_ERRMEM) return -1;              /* the documented out-of-memory path */
  FZ_CHECK(rc == LUA_OK, "result() raised (status %d): %s", rc, fz_errmsg(L));
  return lua_gettop(L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f = {data, size};
  hy3d_request r;
  uint8_t flags;
  size_t len, chunk, done = 0;
  char *body;
  int n1, n2, t;

  memset(&r, 0, sizeof r);
  r.range_start = r.range_total = -1;
  flags = fz_u8(&f);
  r.kind = (flags & 1) ? HY3D_KIND_FILE : HY3D_KIND_API;
  r.envelope = (flags & 128) ? &NO_ENVELOPE : &SERVICE_ENVELOPE;
  r.state = HY3D_REQ_DONE;
  r.easy = probe;
  r.cancelled = (flags >> 1) & 1;
  r.result = (CURLcode)fz_u8(&f);
  r.http_status = (long)(int16_t)fz_u16(&f);
  chunk = fz_u8(&f);
  r.bytes = (curl_off_t)(int32_t)fz_u32(&f);
  r.max_bytes = (curl_off_t)(int32_t)fz_u32(&f);
  if (flags & 32) {
    const char *e = fz_bytes(&f, CURL_ERROR_SIZE - 1, &len);
    memcpy(r.errbuf, e, len);
    r.errbuf[len] = '\0';
  }
  /* a private copy: the callbacks take char *, and ASan then sees its exact bounds */
  len = f.n;
  body = (char *)malloc(len > 0 ? len : 1);
  FZ_CHECK(body != NULL, "malloc");
  memcpy(body, f.p, len);

  /* Header lines are arbitrary bytes too: the Content-Range parser must stay inside the line. */
  if (flags & 64) {
    size_t hl = len < 300 ? len : 300;
    FZ_CHECK(hy3d_download_header(body, 1, hl, &r) == hl, "the header callback refused a line");
    FZ_CHECK(r.range_start >= -1 && r.range_total >= -1, "a negative Content-Range offset");
  }
  /* The body arrives through the real write callback, in chunks. */
  if (chunk == 0) chunk = len;
  while (done < len) {
    size_t n = len - done < chunk ? len - done : chunk;
    size_t took = r.kind == HY3D_KIND_FILE ? hy3d_download_write(body + done, 1, n, &r)
                                           : hy3d_api_write(body + done, 1, n, &r);
    if (took != n) break;                       /* the callback refused: the transfer fails */
    done += n;
  }
  if (done < len && r.result == CURLE_OK) r.result = CURLE_WRITE_ERROR;
  /* A refused write is what libcurl reports as CURLE_WRITE_ERROR; a limit or a sink error too. */
  if (flags & 4) r.too_large = 1;
  r.sink_errno = (int[]){0, ENOMEM, ENOSPC, EIO}[(flags >> 3) & 3];
  if ((r.too_large || r.sink_errno) && r.result == CURLE_OK) r.result = CURLE_WRITE_ERROR;
  /* Exactly as long as the body, so ASan sees a read past its end (the buffer grows in 4 KB steps). */
  if (r.body.len > 0) {
    char *exact = (char *)malloc(r.body.len);
    FZ_CHECK(exact != NULL, "malloc");
    memcpy(exact, r.body.data, r.body.len);
    free(r.body.data);
    r.body.data = exact;
    r.body.cap = r.body.len;
  }

  n1 = run_classify(FL, &r);
  if (n1 >= 0) {
    check_outcome(FL, &r, n1);
    /* result() can be asked again: the same shape of answer. */
    t = lua_type(FL, n1);
    n2 = run_classify(FL, &r);
    if (n2 >= 0) {
      FZ_CHECK(n1 == n2 && t == lua_type(FL, n2), "a second result() differs");
      check_outcome(FL, &r, n2);
    }
  }
  lua_settop(FL, 0);
  lua_gc(FL, LUA_GCCOLLECT, 0);   /* frees this input's garbage: libFuzzer's per-input leak check stays on */
  hy3d_buf_free(&r.body);
  free(body);
  return 0;
}
