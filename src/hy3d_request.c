/* hy3d_request.c — the hy3d.Request object: one HTTP exchange on a libcurl easy handle (new, finish, cancel, release) and its Lua methods (done, result, progress, close). Below the engine; calls hy3d_download.c, hy3d_result.c, hy3d_handle.c, and back up only hy3d__engine_detach. */
#include <stdlib.h>
#include <string.h>

#include "hy3d.h"

/* ===== lifecycle ===== */

/* Marks a transfer complete (called by the engine after curl_multi_info_read said DONE). */
void hy3d_request_finish(hy3d_request *r, CURLcode result) {
  r->state = HY3D_REQ_DONE;
  r->result = result;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
  if (r->kind == HY3D_KIND_FILE) hy3d_download_finish(r);
}

/* Ends a transfer that will never complete (closed, or its engine closed): releases its file. */
void hy3d_request_cancel(hy3d_request *r) {
  if (r->state == HY3D_REQ_RUNNING) {
    r->state = HY3D_REQ_DONE;
    r->cancelled = 1;
  }
  if (r->file != NULL) {
    fclose(r->file);
    r->file = NULL;
  }
}

/* The one release shared by close, __gc and __close: idempotent, cancels a running transfer. */
static void request_release(lua_State *L, hy3d_request *r, int idx) {
  hy3d_engine *eng;
  hy3d_getuservalue(L, idx);
  lua_getfield(L, -1, "engine");                /* set once it was attached; it outlives the request */
  eng = (hy3d_engine *)lua_touserdata(L, -1);
  if (r->engine != NULL) hy3d__engine_detach(L, lua_gettop(L), r);   /* the one call back up */
  lua_pop(L, 2);
  hy3d_request_cancel(r);
  if (r->easy != NULL) {
    hy3d_handle_recycle(eng, r->easy, r->kind);
    r->easy = NULL;
  }
  hy3d_slist_wipe(r->headers);
  r->headers = NULL;
  hy3d_buf_free(&r->body);
  free(r->meta);
  r->meta = NULL;
}

/*
 * Pushes a new request userdata. It is created closed (easy == NULL) with its metatable and an
 * empty user-value table, and only then acquires its easy handle (from eng's pool when it has
 * one), so a failure leaves nothing leaked.
 */
hy3d_request *hy3d_request_new(lua_State *L, hy3d_engine *eng, int kind) {
  hy3d_request *r = (hy3d_request *)hy3d_newuserdata(L, sizeof *r);
  memset(r, 0, sizeof *r);
  r->kind = kind;
  luaL_getmetatable(L, HY3D_REQUEST_MT);
  lua_setmetatable(L, -2);
  lua_createtable(L, 0, 2);                      /* body and engine: sized once, never rehashed */
  hy3d_setuservalue(L, -2);
  r->envelope = &eng->envelope;
  r->easy = hy3d_handle_take(eng, kind);
  if (r->easy == NULL) luaL_error(L, "hy3d: curl_easy_init failed (out of memory?)");
  return r;
}

hy3d_request *hy3d_checkrequest(lua_State *L, int idx) {
  return (hy3d_request *)luaL_checkudata(L, idx, HY3D_REQUEST_MT);
}

/* ===== Lua methods ===== */

/* req:done() -> boolean */
static int request_done(lua_State *L) {
  hy3d_request *r = hy3d_checkrequest(L, 1);
  lua_pushboolean(L, r->state == HY3D_REQ_DONE);
  return 1;
}

/* req:result() -> value | nil, err. API calls give the unwrapped response; downloads the byte count. */
static int request_result(lua_State *L) {
  hy3d_request *r = hy3d_checkrequest(L, 1);
  if (r->easy == NULL) return luaL_error(L, "attempt to use a closed hy3d.Request");
  if (r->state != HY3D_REQ_DONE) return luaL_error(L, "hy3d.Request: result() before the request completed");
  return r->kind == HY3D_KIND_FILE ? hy3d_push_file_result(L, r) : hy3d_push_api_result(L, r);
}

/*
 * req:progress() -> done, total. A download's bytes in the file so far (a resumed part included)
 * and the whole file's size when the server said it (nil until then, or when it never does).
 * API requests report their body. Never blocks: libcurl's counters are read, not driven.
 */
static int request_progress(lua_State *L) {
  hy3d_request *r = hy3d_checkrequest(L, 1);
  curl_off_t length = -1, total = -1;
  if (r->kind != HY3D_KIND_FILE) {
    lua_pushinteger(L, (lua_Integer)r->body.len);
    lua_pushnil(L);
    return 2;
  }
  if (r->range_total >= 0) {
    total = r->range_total;
  } else if (r->easy != NULL && r->state != HY3D_REQ_IDLE &&
             curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length >= 0) {
    total = length + (r->wrote ? r->offset : 0);
  }
  lua_pushinteger(L, (lua_Integer)(r->offset + r->bytes));
  if (total >= 0) lua_pushinteger(L, (lua_Integer)total);
  else lua_pushnil(L);
  return 2;
}

/*
 * req:header(name) -> string | nil. The value of a header of the last response received (after
 * redirects), by name in any case: a generic HTTP read (the client reads the server's Date), no
 * name is known here. nil when absent, before the response, or with a libcurl older than 7.84.
 */
static int request_header(lua_State *L) {
  hy3d_request *r = hy3d_checkrequest(L, 1);
  const char *name = luaL_checkstring(L, 2);
#if HY3D_CURL_GE(7, 84, 0)
  struct curl_header *h = NULL;
  if (r->easy != NULL && r->state == HY3D_REQ_DONE &&
      curl_easy_header(r->easy, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h != NULL && h->value != NULL) {
    lua_pushstring(L, h->value);
    return 1;
  }
#else
  (void)r;
  (void)name;
#endif
  lua_pushnil(L);
  return 1;
}

/*
 * req:mentions(list) -> boolean. Whether the answer of a completed API request may hold, once
 * decoded, one of the strings of `list` (the client's secrets): false only when it cannot, read from
 * the JSON text (hy3d_scan.c). A download, or a request not completed: true.
 */
static int request_mentions(lua_State *L) {
  hy3d_request *r = hy3d_checkrequest(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (r->kind != HY3D_KIND_API || r->easy == NULL || r->state != HY3D_REQ_DONE) {
    lua_pushboolean(L, 1);
    return 1;
  }
  hy3d_scan_json(L, r->body.data, r->body.len, 2);
  return 1;
}

/* req:close(), __gc, __close: cancel if running, free everything. Returns true. */
static int request_close(lua_State *L) {
  hy3d_request *r = hy3d_checkrequest(L, 1);
  request_release(L, r, 1);
  lua_pushboolean(L, 1);
  return 1;
}

static int request_tostring(lua_State *L) {
  hy3d_request *r = hy3d_checkrequest(L, 1);
  const char *state = r->easy == NULL ? "closed" : r->state == HY3D_REQ_DONE ? "done"
                    : r->state == HY3D_REQ_RUNNING ? "running" : "idle";
  lua_pushfstring(L, "hy3d.Request (%s, %s)", r->kind == HY3D_KIND_FILE ? "download" : "api", state);
  return 1;
}

static const luaL_Reg request_methods[] = {
  {"done", request_done},
  {"result", request_result},
  {"progress", request_progress},
  {"header", request_header},
  {"mentions", request_mentions},
  {"close", request_close},
  {NULL, NULL}
};

static const luaL_Reg request_meta[] = {
  {"__gc", request_close},
  {"__close", request_close},
  {"__tostring", request_tostring},
  {NULL, NULL}
};

/* Registers the hy3d.Request metatable. Expects the module upvalues on top; leaves the stack as it was. */
int hy3d_request_open(lua_State *L) {
  hy3d_newclass(L, HY3D_REQUEST_MT, request_methods, request_meta);
  return 0;
}
