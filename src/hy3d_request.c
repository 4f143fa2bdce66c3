/* hy3d_request.c — one HTTP exchange on a libcurl easy handle: setup, C-only callbacks, and its outcome as Lua values. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "hy3d.h"

/* ===== error tables ===== */

/* Pushes a plain error table {kind=, code=, message=}; NULL fields are left out. */
void hy3d_push_error(lua_State *L, const char *kind, const char *code, const char *message) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (code != NULL) {
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
  }
  if (message != NULL) {
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
  }
}

static void set_int_field(lua_State *L, const char *name, long v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, name);
}

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
  if (r->http_status > 0) set_int_field(L, "http_status", r->http_status);
#if HY3D_CURL_GE(7, 66, 0)
  if (r->easy != NULL) {
    curl_off_t ra = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
      set_int_field(L, "retry_after", (long)ra);
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
    set_int_field(L, "curl_code", (long)r->result);
  } else if (header_too_large(r)) {
    hy3d_push_error(L, "network", "HEADER_TOO_LARGE", "the server sent a header line larger than libcurl accepts");
    set_int_field(L, "curl_code", (long)r->result);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "sent");
  } else if (r->sink_errno != 0) {
    hy3d_push_error(L, r->kind == HY3D_KIND_FILE ? "io" : "network",
                    r->sink_errno == ENOMEM ? "OUT_OF_MEMORY" : "WRITE_ERROR", strerror(r->sink_errno));
    set_int_field(L, "errno", r->sink_errno);
  } else {
    long sent = 0;
    const char *msg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result);
    hy3d_push_error(L, "network", curl_code_name(r->result), msg);
    set_int_field(L, "curl_code", (long)r->result);
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

/* Pushes nil and an http error (non-2xx without an API error body). errtab: OpenAI-style "error". */
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
  if (r->kind == HY3D_KIND_FILE && r->range_total >= 0) set_int_field(L, "total", (long)r->range_total);
  set_http_fields(L, r);
  return 2;
}

/*
 * The outcome of an API call: the unwrapped response table (a {"Response": ...} envelope or a
 * flat object), or nil and an error of kind network, http, api or decode.
 */
static int push_api_result(lua_State *L, hy3d_request *r) {
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
  lua_getfield(L, body, "Response");                /* body, Response */
  if (lua_istable(L, -1)) {
    lua_replace(L, body);                           /* the unwrapped Response */
  } else {
    lua_pop(L, 1);
  }
  lua_getfield(L, body, "Error");                   /* body, Error */
  if (lua_istable(L, -1)) {
    int e = lua_gettop(L);
    lua_pushnil(L);
    hy3d_push_error(L, "api", NULL, NULL);          /* body, Error, nil, err */
    copy_string_field(L, e, "Code", "code");
    copy_string_field(L, e, "Message", "message");
    copy_string_field(L, body, "RequestId", "request_id");
    set_http_fields(L, r);
    return 2;
  }
  lua_pop(L, 1);
  if (!ok2xx) {
    lua_getfield(L, body, "error");                 /* body, error (OpenAI style) */
    return push_http_error(L, r, lua_gettop(L));
  }
  return 1;
}

/* The outcome of a download: the file's size and the offset it was resumed from (0: whole), or nil and an error. */
static int push_file_result(lua_State *L, hy3d_request *r) {
  if (r->result != CURLE_OK || r->cancelled || r->sink_errno != 0) return push_transfer_error(L, r);
  if (r->http_status < 200 || r->http_status >= 300) return push_http_error(L, r, 0);
  lua_pushinteger(L, (lua_Integer)(r->offset + r->bytes));
  lua_pushinteger(L, (lua_Integer)r->offset);
  return 2;
}

/* ===== libcurl callbacks: C only, never Lua, never raise ===== */

static size_t api_write(char *p, size_t size, size_t n, void *ud) {
  hy3d_request *r = (hy3d_request *)ud;
  size_t len = size * n;
  if (r->body.len + len > HY3D_MAX_API_BODY) {
    r->too_large = 1;
    return 0;
  }
  if (hy3d_buf_append(&r->body, p, len) != 0) {
    r->sink_errno = ENOMEM;
    return 0;
  }
  return len;
}

/* API headers: only where a header block ends (an error before it is about the headers). */
static size_t api_header(char *line, size_t size, size_t n, void *ud) {
  hy3d_request *r = (hy3d_request *)ud;
  size_t len = size * n;
  if (r == NULL) return len;
  if (len >= 5 && curl_strnequal(line, "http/", 5)) r->head_done = 0;
  else if (len <= 2 && (len == 0 || line[0] == '\r' || line[0] == '\n')) r->head_done = 1;
  return len;
}

/* Starts the file over: a resumed download got the whole object instead of the rest. */
static int file_restart(hy3d_request *r) {
  if (fflush(r->file) != 0 || ftruncate(fileno(r->file), 0) != 0) {
    r->sink_errno = errno != 0 ? errno : EIO;
    return 0;
  }
  r->offset = 0;
  return 1;
}

/*
 * Writes the sidecar of a validated resume: this answer's validators and the object's size, for
 * the next try (or a later call) to send as If-Range and to check a 206 against. Owner-only, never
 * through a link. When it cannot be written none is left, so the partial file is restarted later.
 */
static void write_meta(hy3d_request *r, curl_off_t total) {
  char text[2 * HY3D_VALIDATOR_MAX + 96];
  int n, fd;
  struct stat st;
  if (r->meta == NULL) return;
  n = snprintf(text, sizeof text, "hy3d-partial 1\netag %s\nmodified %s\ntotal %" CURL_FORMAT_CURL_OFF_T "\n",
               r->etag, r->modified, total);
  fd = open(r->meta, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd >= 0) {
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fchmod(fd, 0600) == 0 && n > 0 &&
             (size_t)n < sizeof text && write(fd, text, (size_t)n) == (ssize_t)n;
    if (close(fd) == 0 && ok) return;             /* an older sidecar is made owner-only too */
  }
  (void)unlink(r->meta);
}

/* The first body byte of a 2xx answer: resume (206 at the offset, of the same version), start over (200) or refuse. */
static int file_first_write(hy3d_request *r, long status) {
  curl_off_t length = -1;
  r->wrote = 1;
  if (status == 206) {
    if (r->range_start != r->offset) {
      r->range_mismatch = 1;
      return 0;
    }
    if ((r->expect_total >= 0 && r->range_total != r->expect_total) ||
        (r->want_etag[0] != '\0' && r->etag[0] != '\0' && strcmp(r->want_etag, r->etag) != 0)) {
      r->object_changed = 1;                      /* the rest of another object: never stitched on */
      return 0;
    }
  } else if (r->offset > 0 && !file_restart(r)) {
    return 0;
  }
  if (status != 206 || r->expect_total < 0) {      /* a first answer: its version is the one to resume */
    curl_off_t total = r->range_total;
    if (status == 206 && r->etag[0] == '\0') memcpy(r->etag, r->want_etag, sizeof r->etag);
    if (status == 206 && r->modified[0] == '\0') memcpy(r->modified, r->want_modified, sizeof r->modified);
    if (status != 206 && curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total) != CURLE_OK) total = -1;
    write_meta(r, total >= 0 ? total : -1);
  }
  if (r->max_bytes > 0 && curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
      length > 0 && r->offset + length > r->max_bytes) {
    r->too_large = 1;                             /* refused before a byte of it is written */
    return 0;
  }
  return 1;
}

static size_t file_write(char *p, size_t size, size_t n, void *ud) {
  hy3d_request *r = (hy3d_request *)ud;
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {            /* an error page: keep its start for the message */
    if (r->body.len < 1024) {
      size_t keep = len < 1024 - r->body.len ? len : 1024 - r->body.len;
      (void)hy3d_buf_append(&r->body, p, keep);
    }
    return len;
  }
  if (!r->wrote && !file_first_write(r, status)) return 0;
  if (r->max_bytes > 0 && r->offset + r->bytes + (curl_off_t)len > r->max_bytes) {
    r->too_large = 1;
    return 0;
  }
  errno = 0;
  if (fwrite(p, 1, len, r->file) != len) {
    r->sink_errno = errno != 0 ? errno : EIO;
    return 0;
  }
  r->bytes += (curl_off_t)len;
  return len;
}

/* Parses a decimal curl_off_t at *p; advances *p. Returns -1 when there is none (or it overflows). */
static curl_off_t parse_off(const char **p, const char *end) {
  curl_off_t v = 0;
  const char *s = *p;
  if (s >= end || *s < '0' || *s > '9') return -1;
  for (; s < end && *s >= '0' && *s <= '9'; s++) {
    if (v > CURL_OFF_T_C(99999999999999999)) return -1;   /* far beyond any file; no overflow */
    v = v * 10 + (*s - '0');
  }
  *p = s;
  return v;
}

/* Case-insensitive prefix test on a header line of length n (not NUL-terminated): libcurl's compare. */
static int header_is(const char *line, size_t n, const char *name) {
  size_t k = strlen(name);
  return n >= k && curl_strnequal(line, name, k);
}

/* Copies a header's value (after the name of k bytes), trimmed, into out; "" when it is too long or holds a control byte. */
static void header_value(const char *line, size_t len, size_t k, char *out) {
  const char *p = line + k, *end = line + len;
  size_t n;
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
  n = (size_t)(end - p);
  out[0] = '\0';
  if (n >= HY3D_VALIDATOR_MAX) return;
  for (k = 0; k < n; k++)
    if ((unsigned char)p[k] < 0x20 || p[k] == 0x7f) return;
  memcpy(out, p, n);
  out[n] = '\0';
}

/* Whether a redirect target is plain http to a host other than loopback (127.0.0.0/8, ::1, localhost). */
static int insecure_target(const char *loc, size_t n) {
  const char *p, *end = loc + n, *host;
  size_t hn;
  if (!header_is(loc, n, "http://")) return 0;
  p = host = loc + 7;
  while (p < end && *p != '/' && *p != '?' && *p != '#') {
    if (*p == '@') host = p + 1;                  /* user info */
    p++;
  }
  end = p;
  if (host < end && *host == '[') return !((size_t)(end - host) >= 5 && memcmp(host, "[::1]", 5) == 0);
  for (p = host; p < end && *p != ':'; p++) {}
  hn = (size_t)(p - host);
  if (hn == 9 && curl_strnequal(host, "localhost", 9)) return 0;
  if (hn >= 4 && memcmp(host, "127.", 4) == 0) {
    for (p = host; p < host + hn; p++)
      if (!((*p >= '0' && *p <= '9') || *p == '.')) return 1;
    return 0;
  }
  return 1;
}

/*
 * Download headers: a new status line forgets the previous response's; Content-Range gives where a
 * part starts, ETag and Last-Modified the version; a redirect from https to plain http is refused.
 */
static size_t file_header(char *line, size_t size, size_t n, void *ud) {
  hy3d_request *r = (hy3d_request *)ud;
  size_t len = size * n;
  const char *p, *end = line + len;
  if (header_is(line, len, "http/")) {
    r->range_start = -1;
    r->range_total = -1;
    r->etag[0] = r->modified[0] = '\0';
    r->head_done = 0;
  } else if (len <= 2 && (len == 0 || line[0] == '\r' || line[0] == '\n')) {
    r->head_done = 1;
  } else if (header_is(line, len, "etag:")) {
    header_value(line, len, 5, r->etag);
  } else if (header_is(line, len, "last-modified:")) {
    header_value(line, len, 14, r->modified);
  } else if (header_is(line, len, "location:") && !r->allow_http) {
    long status = 0;
    char *url = NULL;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url);
    for (p = line + 9; p < end && (*p == ' ' || *p == '\t'); p++) {}
    if (status >= 300 && status < 400 && url != NULL && header_is(url, strlen(url), "https:") &&
        insecure_target(p, (size_t)(end - p))) {
      r->insecure_redirect = 1;
      return 0;                                   /* aborts the transfer before it is followed */
    }
  } else if (header_is(line, len, "content-range:")) {
    p = line + strlen("content-range:");
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (header_is(p, (size_t)(end - p), "bytes")) p += 5;
    while (p < end && *p == ' ') p++;
    if (p < end && *p == '*') {
      p++;
    } else {
      r->range_start = parse_off(&p, end);
      if (p < end && *p == '-') p++;
      (void)parse_off(&p, end);
    }
    if (p < end && *p == '/') {
      p++;
      r->range_total = parse_off(&p, end);
    }
  }
  return len;
}

/*
 * libcurl's progress callback for downloads: once the final answer's size is known, fixes the
 * ceiling (started + base + size / min_avg_rate) and aborts past it. Called at least once a second
 * even while no byte arrives.
 */
static int file_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  hy3d_request *r = (hy3d_request *)ud;
  (void)dlnow;
  (void)ultotal;
  (void)ulnow;
  if (r->min_avg_rate <= 0) return 0;
  if (r->deadline <= 0 && r->wrote) {
    curl_off_t size = r->range_total >= 0 ? r->range_total - r->offset : dltotal;
    if (size > 0 || (r->range_total >= 0 && size >= 0)) r->deadline = r->started + r->ceiling_base + (double)size / r->min_avg_rate;
  }
  if (r->deadline > 0 && hy3d_now() > r->deadline) {
    r->deadline_hit = 1;
    return 1;
  }
  return 0;
}

/* ===== lifecycle ===== */

/* Marks a transfer complete (called by the engine after curl_multi_info_read said DONE). */
void hy3d_request_finish(hy3d_request *r, CURLcode result) {
  r->state = HY3D_REQ_DONE;
  r->result = result;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
  if (r->file != NULL && result == CURLE_OK && !r->wrote && r->offset > 0 &&
      r->http_status >= 200 && r->http_status < 300 && r->http_status != 206)
    (void)file_restart(r);                        /* an empty whole-object answer to a resume */
  if (r->file != NULL) {
    if (fclose(r->file) != 0 && r->sink_errno == 0) r->sink_errno = errno != 0 ? errno : EIO;
    r->file = NULL;
  }
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
  if (r->engine != NULL) hy3d_engine_detach(L, lua_gettop(L), r);
  lua_pop(L, 2);
  hy3d_request_cancel(r);
  if (r->easy != NULL) {
    hy3d_engine_recycle(eng, r->easy, r->kind);
    r->easy = NULL;
  }
  hy3d_slist_wipe(r->headers);
  r->headers = NULL;
  hy3d_buf_free(&r->body);
  free(r->meta);
  r->meta = NULL;
}

/* Frees a header list after zeroing every line (some carry credentials). NULL is fine. */
void hy3d_slist_wipe(struct curl_slist *list) {
  struct curl_slist *h;
  for (h = list; h != NULL; h = h->next) memset(h->data, 0, strlen(h->data));
  curl_slist_free_all(list);
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
  lua_newtable(L);
  hy3d_setuservalue(L, -2);
  r->easy = hy3d_engine_handle(eng, kind);
  if (r->easy == NULL) luaL_error(L, "hy3d: curl_easy_init failed (out of memory?)");
  return r;
}

hy3d_request *hy3d_checkrequest(lua_State *L, int idx) {
  return (hy3d_request *)luaL_checkudata(L, idx, HY3D_REQUEST_MT);
}

/* http and https only, redirects included; the string options need libcurl 7.85 at run time. */
static CURLcode restrict_protocols(CURL *e) {
#if HY3D_CURL_GE(7, 85, 0)
  if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
      curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK)
    return CURLE_OK;
#endif
  if (curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK)
    return CURLE_FAILED_INIT;
  return curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
}

/* The options of a transfer that depend only on its engine. */
static CURLcode setup_engine_options(hy3d_engine *eng, CURL *e) {
  CURLcode rc = CURLE_OK;
  rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, eng->connect_timeout_ms);
  if (eng->user_agent != NULL) rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, eng->user_agent);
  if (eng->ca_file != NULL) rc |= curl_easy_setopt(e, CURLOPT_CAINFO, eng->ca_file);
  if (eng->ca_path != NULL) rc |= curl_easy_setopt(e, CURLOPT_CAPATH, eng->ca_path);
  if (eng->insecure) {
    rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  rc |= restrict_protocols(e);
  return rc;
}

/* The options of this one transfer every kind has. */
static CURLcode setup_request_options(hy3d_request *r, const char *url, long timeout_ms) {
  CURLcode rc = CURLE_OK;
  rc |= curl_easy_setopt(r->easy, CURLOPT_URL, url);
  rc |= curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (void *)r);
  rc |= curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
  rc |= curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  return rc;
}

/*
 * A new easy handle set up for the engine's API calls (a JSON POST with the engine's options),
 * or NULL when out of memory. The engine keeps finished ones for its next calls
 * (hy3d_api_handle_release), so each call sets only what is its own.
 */
CURL *hy3d_api_handle_new(hy3d_engine *eng) {
  CURL *e = curl_easy_init();
  CURLcode rc;
  if (e == NULL) return NULL;
  rc = setup_engine_options(eng, e);
  rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
  rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, api_write);
  rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, api_header);
  if (eng->stall_s > 0) {
    rc |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, eng->stall_s);
  }
  if (rc != CURLE_OK) {
    curl_easy_cleanup(e);
    return NULL;
  }
  return e;
}

/*
 * Takes from a finished API call's handle whatever points into the request (its headers are
 * freed with it, its error buffer and itself go with the userdata). The body pointer stays
 * until the next call sets its own: libcurl reads it only during a transfer.
 */
void hy3d_api_handle_release(CURL *e) {
  (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, (char *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)NULL);
  (void)curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)NULL);
}

/*
 * Prepares a JSON POST to base_url..path with the JSON text at bodyidx as its body, on a handle
 * from hy3d_api_handle_new. The text is anchored in the request's user value, so libcurl reads
 * it in place (no copy). Returns 1, or pushes nil and an error and returns 0.
 */
int hy3d_request_setup_api(lua_State *L, hy3d_engine *eng, hy3d_request *r, const char *path,
                           int bodyidx, long timeout_ms, int fresh) {
  int reqidx = lua_gettop(L);
  size_t len;
  const char *body = lua_tolstring(L, bodyidx, &len);
  CURLcode rc;
  hy3d_getuservalue(L, reqidx);
  lua_pushvalue(L, bodyidx);
  lua_setfield(L, -2, "body");
  lua_pop(L, 1);
  lua_pushfstring(L, "%s%s", eng->base_url, path);
  rc = setup_request_options(r, lua_tostring(L, -1), timeout_ms > 0 ? timeout_ms : eng->timeout_ms);
  lua_pop(L, 1);
  rc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body);
  rc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers != NULL ? r->headers : eng->api_headers);
  rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, (void *)r);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, (void *)r);
  /*
   * A submit goes on a fresh connection: libcurl silently sends a request again when a reused
   * keep-alive connection dies before any response byte, and a second submit is a second job.
   * Set either way: the handle may have carried a submit before.
   */
  rc |= curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
  if (rc != CURLE_OK) {
    lua_pushnil(L);
    hy3d_push_error(L, "network", "FAILED_INIT", "could not set up the request (out of memory?)");
    return 0;
  }
  return 1;
}

/*
 * Opens the sink: truncated, or (resume) for appending after what it already holds. Never through
 * a symbolic link (O_NOFOLLOW), never a FIFO or device (O_NONBLOCK, then fstat): a link planted at
 * the predictable partial name must not get the download appended to its target. Returns the
 * file, or NULL with errno set (ELOOP / EINVAL for what is not a regular file).
 */
static FILE *open_sink(hy3d_request *r, const char *path, int resume) {
  struct stat st;
  FILE *f;
  int e, fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC), 0666);
  if (fd < 0) return NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    e = fstat(fd, &st) != 0 ? errno : EINVAL;
    close(fd);
    errno = e;
    return NULL;
  }
  f = fdopen(fd, resume ? "ab" : "wb");
  if (f == NULL) {
    e = errno;
    close(fd);
    errno = e;
    return NULL;
  }
  r->offset = resume ? (curl_off_t)st.st_size : 0;
  return f;
}

/* Copies the value after "name " on a sidecar line into out ("" when absent). */
static void meta_field(const char *text, const char *name, char *out) {
  const char *p = strstr(text, name), *e;
  size_t n;
  out[0] = '\0';
  if (p == NULL) return;
  p += strlen(name);
  e = strchr(p, '\n');
  n = e != NULL ? (size_t)(e - p) : strlen(p);
  if (n >= HY3D_VALIDATOR_MAX) return;
  memcpy(out, p, n);
  out[n] = '\0';
}

/*
 * Reads the sidecar of a validated resume (the first answer's ETag, Last-Modified and size).
 * Returns 1 when it is there and well-formed, else 0 (the partial file is then restarted).
 */
static int read_meta(hy3d_request *r) {
  char text[2 * HY3D_VALIDATOR_MAX + 96], total[32];
  const char *p;
  ssize_t n;
  struct stat st;
  int fd = open(r->meta, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  n = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ? read(fd, text, sizeof text - 1) : -1;
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  if (strncmp(text, "hy3d-partial 1\n", 15) != 0 || strstr(text, "\ntotal ") == NULL) return 0;
  meta_field(text, "\netag ", r->want_etag);
  meta_field(text, "\nmodified ", r->want_modified);
  meta_field(text, "\ntotal ", total);
  p = total;
  if (total[0] == '-') r->expect_total = -1;
  else if ((r->expect_total = parse_off(&p, p + strlen(p))) < 0 || *p != '\0') return 0;
  return 1;
}

/* The If-Range header of a validated resume: a strong ETag, else the Last-Modified date (none: no header). */
static CURLcode add_if_range(hy3d_request *r) {
  const char *v = r->want_etag[0] != '\0' && strncmp(r->want_etag, "W/", 2) != 0 ? r->want_etag : r->want_modified;
  char line[HY3D_VALIDATOR_MAX + 16];
  struct curl_slist *h;
  if (v[0] == '\0') return CURLE_OK;
  snprintf(line, sizeof line, "If-Range: %s", v);
  h = curl_slist_append(r->headers, line);
  if (h == NULL) return CURLE_OUT_OF_MEMORY;
  r->headers = h;
  return curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
}

/* Pushes nil and the io error of a sink that could not be opened (errno e). Returns 0. */
static int push_open_error(lua_State *L, const char *path, int e) {
  lua_pushnil(L);
  if (e == ELOOP || e == EINVAL) {
    lua_pushfstring(L, "refusing to write %s: it is a symbolic link or not a regular file", path);
    hy3d_push_error(L, "io", "NOT_REGULAR_FILE", lua_tostring(L, -1));
  } else {
    lua_pushfstring(L, "cannot open %s: %s", path, strerror(e));
    hy3d_push_error(L, "io", "OPEN_FAILED", lua_tostring(L, -1));
  }
  lua_remove(L, -2);
  set_int_field(L, "errno", e);
  return 0;
}

/*
 * Prepares a GET of o->url streamed into the file at o->path. No API header is ever sent to a file
 * host. Redirects are followed (http/https only; https to plain http only to loopback or with
 * allow_http). Limits: o->timeout_ms in all, o->min_rate bytes/s over o->stall_s seconds, and once
 * the size is known a ceiling of stall_s + size / o->min_avg_rate. resume: keep what the file
 * holds and ask for the rest with a Range header (a server that answers with the whole object
 * starts the file over); with o->meta, only when that sidecar holds the first answer's validators,
 * sent as If-Range, and a 206 of another size or ETag is refused. Returns 1, or pushes nil and an
 * error and returns 0.
 */
int hy3d_request_setup_file(lua_State *L, hy3d_engine *eng, hy3d_request *r, const hy3d_download_opts *o) {
  CURLcode rc;
  char range[32];
  r->range_start = r->range_total = r->expect_total = -1;
  r->file = open_sink(r, o->path, o->resume);
  if (r->file == NULL) return push_open_error(L, o->path, errno);
  if (o->meta != NULL) {
    size_t n = strlen(o->meta) + 1;
    r->meta = (char *)malloc(n);
    if (r->meta != NULL) memcpy(r->meta, o->meta, n);
    if (r->meta == NULL || (r->offset > 0 && !read_meta(r))) {
      if (!file_restart(r)) {                     /* no proof of the version it holds: start over */
        fclose(r->file);
        r->file = NULL;
        return push_open_error(L, o->path, r->sink_errno);
      }
      r->expect_total = -1;
      r->want_etag[0] = r->want_modified[0] = '\0';
    }
  }
  r->max_bytes = o->max_bytes;
  r->allow_http = o->allow_http;
  r->timeout_ms = o->timeout_ms;
  r->min_rate = o->min_rate;
  r->stall_s = o->stall_s;
  r->min_avg_rate = o->min_avg_rate;
  r->ceiling_base = (double)o->stall_s;
  r->started = hy3d_now();
  rc = setup_engine_options(eng, r->easy);
  rc |= setup_request_options(r, o->url, o->timeout_ms);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
  rc |= curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 1L);
  rc |= curl_easy_setopt(r->easy, CURLOPT_MAXREDIRS, 10L);
  rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, file_write);
  rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, (void *)r);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, file_header);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, (void *)r);
  if (o->min_avg_rate > 0) {
    rc |= curl_easy_setopt(r->easy, CURLOPT_XFERINFOFUNCTION, file_progress);
    rc |= curl_easy_setopt(r->easy, CURLOPT_XFERINFODATA, (void *)r);
    rc |= curl_easy_setopt(r->easy, CURLOPT_NOPROGRESS, 0L);
  }
  /* A larger receive buffer: 32x fewer recv/poll/write calls than the 16 KB default (libcurl
   * caps it at CURL_MAX_READ_SIZE; an older libcurl refusing it only costs speed). */
  (void)curl_easy_setopt(r->easy, CURLOPT_BUFFERSIZE, HY3D_FILE_BUFFER);
  if (r->offset > 0) {
    snprintf(range, sizeof range, "%" CURL_FORMAT_CURL_OFF_T "-", r->offset);
    rc |= curl_easy_setopt(r->easy, CURLOPT_RANGE, range);   /* copied by libcurl */
    if (r->meta != NULL) rc |= add_if_range(r);
  }
  if (o->stall_s > 0) {
    rc |= curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, o->min_rate > 0 ? o->min_rate : 1L);
    rc |= curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, o->stall_s);
  }
  if (rc != CURLE_OK) {
    fclose(r->file);
    r->file = NULL;
    lua_pushnil(L);
    hy3d_push_error(L, "network", "FAILED_INIT", "could not set up the download (out of memory?)");
    return 0;
  }
  return 1;
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
  return r->kind == HY3D_KIND_FILE ? push_file_result(L, r) : push_api_result(L, r);
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
