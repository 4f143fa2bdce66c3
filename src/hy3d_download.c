/* hy3d_download.c — a download's file sink, the C side of the resume protocol (below): open_sink, Range and If-Range, the sidecar, the first-write 206/200 decision, Content-Range, the write/header/progress callbacks, restart. */
/*
 * The resume protocol lives in two files that name each other: this one (what one transfer does
 * with the bytes and headers it gets: append at the offset, or start over, or refuse another
 * version) and lua/hy3d/download.lua (the loop around transfers: the partial file's name and its
 * sidecar, when to resume, restart or refresh an expired link; until that module lands it is
 * Client:_download in lua/hy3d/client.lua).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "hy3d.h"

/* ===== libcurl callbacks of downloads: C only, never Lua, never raise ===== */

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

size_t hy3d_download_write(char *p, size_t size, size_t n, void *ud) {
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
size_t hy3d_download_header(char *line, size_t size, size_t n, void *ud) {
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

/* ===== the end of a transfer ===== */

/*
 * The sink's end once the transfer is done (hy3d_request_finish): an empty whole-object answer
 * to a resume starts the file over; the file is closed (a failure to is the download's error).
 */
void hy3d_download_finish(hy3d_request *r) {
  if (r->file != NULL && r->result == CURLE_OK && !r->wrote && r->offset > 0 &&
      r->http_status >= 200 && r->http_status < 300 && r->http_status != 206)
    (void)file_restart(r);                        /* an empty whole-object answer to a resume */
  if (r->file != NULL) {
    if (fclose(r->file) != 0 && r->sink_errno == 0) r->sink_errno = errno != 0 ? errno : EIO;
    r->file = NULL;
  }
}

/* ===== setup ===== */

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
  hy3d_set_int_field(L, "errno", e);
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
int hy3d_download_setup(lua_State *L, hy3d_engine *eng, hy3d_request *r, const hy3d_download_opts *o) {
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
  rc = hy3d_handle_options(eng, r->easy);
  rc |= hy3d_handle_prepare(r, o->url, o->timeout_ms);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
  rc |= curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 1L);
  rc |= curl_easy_setopt(r->easy, CURLOPT_MAXREDIRS, 10L);
  rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, hy3d_download_write);
  rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, (void *)r);
  rc |= curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, hy3d_download_header);
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
  if (o->body != NULL) {                          /* a POST answered with the file (a synchronous job) */
    struct curl_slist *h = curl_slist_append(r->headers, "Content-Type: application/json");
    if (h == NULL) rc |= CURLE_OUT_OF_MEMORY;
    else r->headers = h;
    rc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    rc |= curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, o->body);
    rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
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
