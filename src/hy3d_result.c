/* hy3d_result.c — a finished transfer as Lua values (what req:result() returns): the response classifier (push_api_result, read with the engine's envelope names), a download's outcome, transfer and HTTP errors, libcurl code names. fuzz/response.c links it as is. Depends on hy3d_json.c and hy3d_util.c. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>

#include "hy3d.h"

/* The CURLE_ name without its prefix: a stable token for programs. */
static const char *curl_code_name(CURLcode c) {
  switch (c) {
#define HY3D_CODE(n) case CURLE_##n: return #n;
    HY3D_CODE(UNSUPPORTED_PROTOCOL) HY3D_CODE(FAILED_INIT) HY3D_CODE(URL_MALFORMAT)
    HY3D_CODE(COULDNT_RESOLVE_PROXY) HY3D_CODE(COULDNT_RESOLVE_HOST) HY3D_CODE(COULDNT_CONNECT)
    HY3D_CODE(WEIRD_SERVER_REPLY) HY3D_CODE(HTTP2) HY3D_CODE(PARTIAL_FILE)
    HY3D_CODE(HTTP_RETURNED_ERROR) HY3D_CODE(WRITE_ERROR) HY3D_CODE(READ_ERROR)
    HY3D_CODE(OUT_OF_MEMORY) HY3D_CODE(OPERATION_TIMEDOUT) HY3D_CODE(RANGE_ERROR)
    HY3D_CODE(SSL_CONNECT_ERROR) HY3D_CODE(ABORTED_BY_CALLBACK) HY3D_CODE(TOO_MANY_REDIRECTS)
    HY3D_CODE(GOT_NOTHING) HY3D_CODE(SSL_ENGINE_NOTFOUND) HY3D_CODE(SEND_ERROR)
    HY3D_CODE(RECV_ERROR) HY3D_CODE(SSL_CERTPROBLEM) HY3D_CODE(SSL_CIPHER)
    HY3D_CODE(PEER_FAILED_VERIFICATION) HY3D_CODE(BAD_CONTENT_ENCODING)
    HY3D_CODE(FILESIZE_EXCEEDED) HY3D_CODE(SSL_CACERT_BADFILE) HY3D_CODE(SSL_SHUTDOWN_FAILED)
    HY3D_CODE(AGAIN) HY3D_CODE(SSL_CRL_BADFILE) HY3D_CODE(SSL_ISSUER_ERROR)
    HY3D_CODE(HTTP2_STREAM) HY3D_CODE(RECURSIVE_API_CALL)
#if HY3D_CURL_GE(7, 66, 0)
    HY3D_CODE(HTTP3)
#endif
#if HY3D_CURL_GE(7, 73, 0)
    HY3D_CODE(PROXY)
#endif
#undef HY3D_CODE
    default: return "CURL_ERROR";
  }
}

/* A short, printable excerpt of a body for error messages: at most 200 bytes, whitespace collapsed. */
static void push_snippet(lua_State *L, const hy3d_buf *b) {
  char out[201];
  size_t i, n = 0;
  for (i = 0; i < b->len && n < sizeof out - 1; i++) {
    unsigned char c = (unsigned char)b->data[i];
    if (c < 0x20 || c == 0x7f) c = ' ';
    if (c == ' ' && (n == 0 || out[n - 1] == ' ')) continue;
    out[n++] = (char)c;
  }
  while (n > 0 && out[n - 1] == ' ') n--;
  lua_pushlstring(L, out, n);
}

static void set_http_fields(lua_State *L, const hy3d_request *r) {
  if (r->http_status > 0) hy3d_set_int_field(L, "http_status", r->http_status);
#if HY3D_CURL_GE(7, 66, 0)
  if (r->easy != NULL) {
    curl_off_t ra = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
      hy3d_set_int_field(L, "retry_after", (long)ra);
  }
#endif
}

/*
 * Whether a failed transfer broke off on an oversized response header: libcurl 7.x reports it as
 * OUT_OF_MEMORY (its header buffer is capped), 8.6+ as TOO_LARGE, some versions RECV_ERROR with
 * "Too large response headers". Only before the header block ended: a later one is not about it.
 */
static int header_too_large(const hy3d_request *r) {
  if (r->head_done) return 0;
  if (r->result == CURLE_OUT_OF_MEMORY) return 1;
#if HY3D_CURL_GE(8, 6, 0)
  if (r->result == CURLE_TOO_LARGE) return 1;
#endif
  return r->result == CURLE_RECV_ERROR && strstr(r->errbuf, "arge response header") != NULL;
}

/*
 * Which limit a download's CURLE_OPERATION_TIMEDOUT hit: its total timeout (kind "timeout",
 * TIMEOUT), its low-speed limit after it connected (network, TOO_SLOW), or connecting (NULL: keep
 * libcurl's OPERATION_TIMEDOUT).
 */
static const char *file_timeout_code(const hy3d_request *r) {
  curl_off_t total_us = 0, connect_us = 0;
  if (r->kind != HY3D_KIND_FILE || r->result != CURLE_OPERATION_TIMEDOUT || r->easy == NULL) return NULL;
  curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  if (r->timeout_ms > 0 && total_us >= (curl_off_t)r->timeout_ms * 1000) return "TIMEOUT";
  if (connect_us > 0) return "TOO_SLOW";
  return NULL;
}

/* Pushes nil and an error for a transfer that did not produce a response. Returns 2. */
static int push_transfer_error(lua_State *L, const hy3d_request *r) {
  const char *tcode = file_timeout_code(r);
  lua_pushnil(L);
  if (r->cancelled) {
    hy3d_push_error(L, "network", "CANCELLED", "the request was cancelled before it completed");
  } else if (r->too_large && r->kind == HY3D_KIND_FILE) {
    lua_pushfstring(L, "download is larger than max_bytes (%f bytes)", (lua_Number)r->max_bytes);
    hy3d_push_error(L, "io", "MAX_BYTES", lua_tostring(L, -1));
    lua_remove(L, -2);
  } else if (r->too_large) {
    hy3d_push_error(L, "decode", "RESPONSE_TOO_LARGE", "the response body is larger than an API answer can be");
  } else if (r->range_mismatch) {
    hy3d_push_error(L, "http", "RANGE_MISMATCH", "the server sent a part of the file other than the one asked for");
  } else if (r->object_changed) {
    hy3d_push_error(L, "http", "OBJECT_CHANGED",
                    "the server sent the rest of another version of the file (its size or ETag changed)");
  } else if (r->insecure_redirect) {
    hy3d_push_error(L, "http", "INSECURE_REDIRECT",
                    "an https download was redirected to plain http (refused; allow_http = true permits it)");
  } else if (r->deadline_hit) {
    lua_pushfstring(L, "the download took longer than its size allows at %f bytes/s (plus %f s)",
                    (lua_Number)r->min_avg_rate, (lua_Number)r->ceiling_base);
    hy3d_push_error(L, "timeout", "DOWNLOAD_DEADLINE", lua_tostring(L, -1));
    lua_remove(L, -2);
  } else if (tcode != NULL && tcode[1] == 'I') {   /* TIMEOUT */
    lua_pushfstring(L, "the download did not finish within its timeout (%f s)", (lua_Number)r->timeout_ms / 1000);
    hy3d_push_error(L, "timeout", tcode, lua_tostring(L, -1));
    lua_remove(L, -2);
  } else if (tcode != NULL) {                       /* TOO_SLOW */
    lua_pushfstring(L, "the download ran slower than %d bytes/s for %d s", (int)(r->min_rate > 0 ? r->min_rate : 1),
                    (int)r->stall_s);
    hy3d_push_error(L, "network", tcode, lua_tostring(L, -1));
    lua_remove(L, -2);
    hy3d_set_int_field(L, "curl_code", (long)r->result);
  } else if (header_too_large(r)) {
    hy3d_push_error(L, "network", "HEADER_TOO_LARGE", "the server sent a header line larger than libcurl accepts");
    hy3d_set_int_field(L, "curl_code", (long)r->result);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "sent");
  } else if (r->sink_errno != 0) {
    hy3d_push_error(L, r->kind == HY3D_KIND_FILE ? "io" : "network",
                    r->sink_errno == ENOMEM ? "OUT_OF_MEMORY" : "WRITE_ERROR", strerror(r->sink_errno));
    hy3d_set_int_field(L, "errno", r->sink_errno);
  } else {
    long sent = 0;
    const char *msg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result);
    hy3d_push_error(L, "network", curl_code_name(r->result), msg);
    hy3d_set_int_field(L, "curl_code", (long)r->result);
    if (r->easy != NULL) curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
    lua_pushboolean(L, sent > 0);
    lua_setfield(L, -2, "sent");
  }
  set_http_fields(L, r);
  return 2;
}

/* Reads t[name] (t at idx) as a string field of the error on top, if it is a string or number. */
static void copy_string_field(lua_State *L, int idx, const char *name, const char *as) {
  lua_getfield(L, idx, name);
  if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
    lua_setfield(L, -2, as);
  } else {
    lua_pop(L, 1);
  }
}

/*
 * Pushes nil and an http error (non-2xx without an API error). errtab: the index of the answer's
 * http_error value (an object with message and code, or a string), or 0.
 */
static int push_http_error(lua_State *L, const hy3d_request *r, int errtab) {
  lua_pushnil(L);
  lua_pushfstring(L, "HTTP_%d", (int)r->http_status);
  lua_pushfstring(L, "HTTP %d", (int)r->http_status);
  hy3d_push_error(L, "http", lua_tostring(L, -2), lua_tostring(L, -1));
  lua_remove(L, -2);
  lua_remove(L, -2);                              /* nil, err */
  if (errtab != 0 && lua_istable(L, errtab)) {
    copy_string_field(L, errtab, "message", "message");
    copy_string_field(L, errtab, "code", "code");
  } else if (errtab != 0 && lua_type(L, errtab) == LUA_TSTRING) {
    lua_pushvalue(L, errtab);
    lua_setfield(L, -2, "message");
  } else if (r->body.len > 0) {
    lua_pushfstring(L, "HTTP %d: ", (int)r->http_status);
    push_snippet(L, &r->body);
    lua_concat(L, 2);
    lua_setfield(L, -2, "message");
  }
  if (r->kind == HY3D_KIND_FILE && r->range_total >= 0) hy3d_set_int_field(L, "total", (long)r->range_total);
  set_http_fields(L, r);
  return 2;
}

/*
 * The outcome of an API request, read with the engine's envelope names (hy3d.doors'): the answer
 * unwrapped from its root object (or a flat object), or nil and an error of kind network, http,
 * api or decode. An envelope name that is "" skips its step.
 */
int hy3d_push_api_result(lua_State *L, hy3d_request *r) {
  const hy3d_envelope *env = r->envelope;
  int ok2xx = r->http_status >= 200 && r->http_status < 300;
  int body;
  if (r->result != CURLE_OK || r->cancelled) return push_transfer_error(L, r);
  if (!hy3d_json_decode(L, r->body.data != NULL ? r->body.data : "", r->body.len) || !lua_istable(L, -1)) {
    lua_pop(L, 1);
    if (!ok2xx) return push_http_error(L, r, 0);
    lua_pushnil(L);
    hy3d_push_error(L, "decode", "INVALID_JSON", NULL);
    lua_pushliteral(L, "the response is not a JSON object: ");
    push_snippet(L, &r->body);
    lua_concat(L, 2);
    lua_setfield(L, -2, "message");
    set_http_fields(L, r);
    return 2;
  }
  body = lua_gettop(L);
  if (env->root[0] != '\0') {
    lua_getfield(L, body, env->root);               /* body, root */
    if (lua_istable(L, -1)) {
      lua_replace(L, body);                         /* the unwrapped answer */
    } else {
      lua_pop(L, 1);
    }
  }
  if (env->error[0] != '\0') {
    lua_getfield(L, body, env->error);              /* body, error */
    if (lua_istable(L, -1)) {
      int e = lua_gettop(L);
      lua_pushnil(L);
      hy3d_push_error(L, "api", NULL, NULL);        /* body, error, nil, err */
      if (env->code[0] != '\0') copy_string_field(L, e, env->code, "code");
      if (env->message[0] != '\0') copy_string_field(L, e, env->message, "message");
      if (env->request_id[0] != '\0') copy_string_field(L, body, env->request_id, "request_id");
      set_http_fields(L, r);
      return 2;
    }
    lua_pop(L, 1);
  }
  if (!ok2xx) {
    if (env->http_error[0] == '\0') return push_http_error(L, r, 0);
    lua_getfield(L, body, env->http_error);         /* body, http error ({"error": ...} style) */
    return push_http_error(L, r, lua_gettop(L));
  }
  return 1;
}

/* The outcome of a download: the file's size and the offset it was resumed from (0: whole), or nil and an error. */
int hy3d_push_file_result(lua_State *L, hy3d_request *r) {
  if (r->result != CURLE_OK || r->cancelled || r->sink_errno != 0) return push_transfer_error(L, r);
  if (r->http_status < 200 || r->http_status >= 300) return push_http_error(L, r, 0);
  lua_pushinteger(L, (lua_Integer)(r->offset + r->bytes));
  lua_pushinteger(L, (lua_Integer)r->offset);
  return 2;
}
