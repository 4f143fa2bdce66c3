/*
 * bench/server.c — a fast fixed responder for hy3d's benchmarks (no signature checks, no state).
 *
 * One thread, epoll, HTTP/1.1 keep-alive (pipelining too), on 127.0.0.1. It prints
 * `http://127.0.0.1:PORT` as its first line on stdout, then answers:
 *
 *   POST /v1/ai3d/submit, /v1/ai3d/query   the compatible gateway: a submit, and a DONE query with
 *                                          two ResultFile3Ds (shapes copied from hy3d-sandbox)
 *   POST / with X-TC-Action                API 3.0: Submit*Job / Query*Job / Describe*Job; any
 *                                          other action gets a Tencent-style InvalidAction error
 *   GET /blob?size=N                       N bytes (up to 2^50) of a fixed pattern streamed from a
 *                                          static buffer (nothing is allocated per byte); a single
 *                                          `Range: bytes=A-` or `bytes=A-B` gets a 206. Byte i is
 *                                          ((i % 1048573) * 2654435761 mod 2^32) >> 24.
 *   GET /stats                             {"connections":N,"requests":N,"open":N,"blob_bytes":N}
 *   POST /stats/reset                      zeroes the counters (and answers like GET /stats)
 *
 * Every answer is built once at start-up: every client gets the same bytes. Credentials and
 * TC3 signatures are ignored. `connections` counts accepted TCP connections, `requests` the
 * requests answered, `open` the connections open now; connections whose first request is to
 * /stats (the driver's) are left out of all three.
 *
 * Usage: server [--port N] [--lifetime SECONDS] [--verbose]   (--verbose: request heads on stderr)
 * Build: cc -O2 -Wall -Wextra -o build/bench/server bench/server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD (64 * 1024)
#define MAX_BODY (64L * 1024 * 1024)
#define PERIOD 1048573u                  /* the blob pattern's period (a prime) */
#define CHUNK (256 * 1024)               /* the most one write() of the blob sends */

#define JOB_ID "1357237233311637504"
#define REQUEST_ID "6a4ab7a4-3c5e-4d9b-9d1a-0b5f1d2e3c4a"

typedef struct {
  char *p;
  size_t len, cap;
} buf;

typedef struct {
  int fd;
  int admin;                             /* first request went to /stats: not counted */
  int first_done;
  int close_after;                       /* close once the output is out */
  int want_out;                          /* EPOLLOUT is registered */
  int continued;                         /* 100 Continue sent for the request in progress */
  buf in, out;
  size_t out_pos;
  unsigned long long blob_off, blob_left;
} conn;

static unsigned char pattern[PERIOD + CHUNK];
static int ep, verbose;
static unsigned long long n_conns, n_reqs, n_open, n_blob;

/* The fixed answers (whole HTTP responses), made in build_answers. */
static buf gw_submit, gw_query, tc_submit, tc_query, tc_invalid, not_found, bad_request, too_large;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void buf_reserve(buf *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  char *p = realloc(b->p, cap);
  if (p == NULL) die("realloc");
  b->p = p;
  b->cap = cap;
}

static void buf_add(buf *b, const char *s, size_t n) {
  buf_reserve(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  buf_reserve(b, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* A whole response: status line, the headers hy3d-sandbox sends, the body. */
static void make_response(buf *b, const char *status, const char *type, const char *body) {
  buf_printf(b, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nServer: hy3d-bench\r\n"
             "Connection: keep-alive\r\n\r\n%s", status, type, strlen(body), body);
}

/* One COS-style signed URL of a result file, escaped the way lua-cjson writes it (\/). */
static void file_url(buf *b, int port, const char *name) {
  buf_printf(b, "http:\\/\\/127.0.0.1:%d\\/files\\/" JOB_ID "\\/%s?q-sign-algorithm=sha1&q-ak=AKIDsandbox"
             "&q-sign-time=1795488509%%3B1795574908&q-key-time=1795488509%%3B1795574908&q-header-list=host"
             "&q-url-param-list=&q-signature=5d84096fb69c4eddae6ceb609296bd7c", port, name);
}

static void build_answers(int port) {
  buf body = {0};
  /* The gateway: fields in the order hy3d-sandbox writes them. */
  make_response(&gw_submit, "200 OK", "application/json",
                "{\"Response\":{\"JobId\":\"" JOB_ID "\",\"RequestId\":\"" REQUEST_ID "\"}}");
  buf_printf(&body, "{\"Response\":{\"Status\":\"DONE\",\"RequestId\":\"" REQUEST_ID "\",\"ErrorMessage\":\"\","
             "\"ResultFile3Ds\":[{\"Url\":\"");
  file_url(&body, port, "model.zip");
  buf_printf(&body, "\",\"PreviewImageUrl\":\"");
  file_url(&body, port, "preview.png");
  buf_printf(&body, "\",\"Type\":\"OBJ\"},{\"Url\":\"");
  file_url(&body, port, "model.glb");
  buf_printf(&body, "\",\"PreviewImageUrl\":\"");
  file_url(&body, port, "preview.png");
  buf_printf(&body, "\",\"Type\":\"GLB\"}],\"ErrorCode\":\"\"}}");
  buf_add(&body, "", 1);
  make_response(&gw_query, "200 OK", "application/json", body.p);
  /* API 3.0: what the sandbox's TC3 door answers (credits included). */
  body.len = 0;
  make_response(&tc_submit, "200 OK", "application/json",
                "{\"Response\":{\"RequestId\":\"" REQUEST_ID "\",\"JobId\":\"" JOB_ID "\"}}");
  buf_printf(&body, "{\"Response\":{\"ErrorMessage\":\"\",\"RequestId\":\"" REQUEST_ID "\",\"ResultFile3Ds\":"
             "[{\"PreviewImageUrl\":\"");
  file_url(&body, port, "preview.png");
  buf_printf(&body, "\",\"Url\":\"");
  file_url(&body, port, "model.zip");
  buf_printf(&body, "\",\"Type\":\"OBJ\"},{\"PreviewImageUrl\":\"");
  file_url(&body, port, "preview.png");
  buf_printf(&body, "\",\"Url\":\"");
  file_url(&body, port, "model.glb");
  buf_printf(&body, "\",\"Type\":\"GLB\"}],\"ResultCreditDetails\":\"{\\\"GenerateType-Normal\\\":20}\","
             "\"ErrorCode\":\"\",\"ResultCreditConsumed\":20,\"Status\":\"DONE\"}}");
  buf_add(&body, "", 1);
  make_response(&tc_query, "200 OK", "application/json", body.p);
  make_response(&tc_invalid, "200 OK", "application/json",
                "{\"Response\":{\"Error\":{\"Code\":\"InvalidAction\",\"Message\":\"the bench server answers "
                "Submit*, Query* and Describe* actions only\"},\"RequestId\":\"" REQUEST_ID "\"}}");
  make_response(&not_found, "404 Not Found", "application/json", "{\"error\":\"not found\"}");
  make_response(&bad_request, "400 Bad Request", "application/json", "{\"error\":\"bad request\"}");
  make_response(&too_large, "413 Payload Too Large", "application/json", "{\"error\":\"too large\"}");
  free(body.p);
}

static void build_pattern(void) {
  for (size_t i = 0; i < sizeof pattern; i++)
    pattern[i] = (unsigned char)(((uint32_t)(i % PERIOD) * 2654435761u) >> 24);
}

static void set_events(conn *c, int out) {
  struct epoll_event ev;
  if (out == c->want_out) return;
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
  ev.data.ptr = c;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
  c->want_out = out;
}

static void close_conn(conn *c) {
  if (!c->admin) n_open--;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->in.p);
  free(c->out.p);
  free(c);
}

/* The value of header `name` in the head [p, end), or NULL; its length in *len. */
static const char *header(const char *p, const char *end, const char *name, size_t *len) {
  size_t nl = strlen(name);
  const char *line = memchr(p, '\n', (size_t)(end - p));
  while (line != NULL && line + 1 < end) {
    const char *s = line + 1;
    const char *eol = memchr(s, '\n', (size_t)(end - s));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - s) > nl && s[nl] == ':' && strncasecmp(s, name, nl) == 0) {
      const char *v = s + nl + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      *len = (size_t)(ve - v);
      return v;
    }
    line = eol < end ? eol : NULL;
  }
  return NULL;
}

static int value_has(const char *v, size_t len, const char *word) {
  size_t wl = strlen(word);
  for (size_t i = 0; v != NULL && i + wl <= len; i++)
    if (strncasecmp(v + i, word, wl) == 0) return 1;
  return 0;
}

static void stats_answer(conn *c) {
  char body[160];
  snprintf(body, sizeof body, "{\"connections\":%llu,\"requests\":%llu,\"open\":%llu,\"blob_bytes\":%llu}",
           n_conns, n_reqs, n_open, n_blob);
  buf tmp = {0};
  make_response(&tmp, "200 OK", "application/json", body);
  buf_add(&c->out, tmp.p, tmp.len);
  free(tmp.p);
}

/* GET /blob?size=N with an optional Range. */
static void blob_answer(conn *c, const char *query, size_t qlen, const char *range, size_t rlen) {
  unsigned long long size = 0, first = 0, last;
  const char *s = query ? memmem(query, qlen, "size=", 5) : NULL;
  if (s != NULL) size = strtoull(s + 5, NULL, 10);
  if (size > (1ull << 50)) size = 1ull << 50;
  last = size ? size - 1 : 0;
  if (range != NULL && rlen > 6 && strncasecmp(range, "bytes=", 6) == 0 && memchr(range, ',', rlen) == NULL) {
    char tmp[64], *end;
    size_t n = rlen - 6 < sizeof tmp - 1 ? rlen - 6 : sizeof tmp - 1;
    memcpy(tmp, range + 6, n);
    tmp[n] = 0;
    if (tmp[0] >= '0' && tmp[0] <= '9') {
      first = strtoull(tmp, &end, 10);
      if (*end == '-' && end[1] >= '0' && end[1] <= '9') {
        unsigned long long l = strtoull(end + 1, NULL, 10);
        if (l < last) last = l;
      }
      if (first >= size || first > last) {
        buf_printf(&c->out, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%llu\r\n"
                   "Content-Length: 0\r\nServer: hy3d-bench\r\nConnection: keep-alive\r\n\r\n", size);
        return;
      }
      buf_printf(&c->out, "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\n"
                 "Content-Length: %llu\r\nContent-Range: bytes %llu-%llu/%llu\r\nAccept-Ranges: bytes\r\n"
                 "Server: hy3d-bench\r\nConnection: keep-alive\r\n\r\n", last - first + 1, first, last, size);
      c->blob_off = first;
      c->blob_left = last - first + 1;
      return;
    }
  }
  buf_printf(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %llu\r\n"
             "Accept-Ranges: bytes\r\nServer: hy3d-bench\r\nConnection: keep-alive\r\n\r\n", size);
  c->blob_off = 0;
  c->blob_left = size;
}

/*
 * Answers every complete request in c->in (stopping behind a blob, whose bytes go first).
 * Returns 0 when the connection must close now.
 */
static int serve(conn *c) {
  while (c->blob_left == 0 && !c->close_after && c->in.len > 0) {
    char *p = c->in.p, *end;
    char *hend = memmem(p, c->in.len, "\r\n\r\n", 4);
    size_t hlen, vlen, tlen;
    long clen = 0;
    const char *v, *target, *sp;
    int is_post, is_get;
    if (hend == NULL) {
      if (c->in.len > MAX_HEAD) return 0;
      return 1;
    }
    hlen = (size_t)(hend - p) + 4;
    end = hend + 2;
    if (verbose) fprintf(stderr, "%.*s\n", (int)(hlen - 2), p);
    is_post = hlen > 5 && memcmp(p, "POST ", 5) == 0;
    is_get = hlen > 4 && memcmp(p, "GET ", 4) == 0;
    target = p + (is_post ? 5 : is_get ? 4 : 0);
    sp = memchr(target, ' ', (size_t)(end - target));
    if ((!is_post && !is_get) || sp == NULL) {
      buf_add(&c->out, bad_request.p, bad_request.len);
      c->close_after = 1;
      break;
    }
    tlen = (size_t)(sp - target);
    v = header(p, end, "Content-Length", &vlen);
    if (v != NULL) clen = strtol(v, NULL, 10);
    if (clen < 0 || clen > MAX_BODY) {
      buf_add(&c->out, too_large.p, too_large.len);
      c->close_after = 1;
      break;
    }
    if (c->in.len < hlen + (size_t)clen) {              /* the body is still on its way */
      v = header(p, end, "Expect", &vlen);
      if (!c->continued && v != NULL && value_has(v, vlen, "100-continue")) {
        buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->continued = 1;
      }
      return 1;
    }
    c->continued = 0;
    /* HTTP/1.0 or Connection: close: answer, then close. */
    v = header(p, end, "Connection", &vlen);
    if (value_has(v, vlen, "close") || (memmem(sp, (size_t)(end - sp), "HTTP/1.0", 8) && !value_has(v, vlen, "keep-alive")))
      c->close_after = 1;
    if (tlen >= 6 && memcmp(target, "/stats", 6) == 0 && (tlen == 6 || target[6] == '/' || target[6] == '?')) {
      if (!c->first_done && !c->admin) {
        c->admin = 1;
        n_conns--;
        n_open--;
      }
      if (is_post && tlen >= 12 && memcmp(target, "/stats/reset", 12) == 0) n_conns = n_reqs = n_blob = 0;
      stats_answer(c);
    } else {
      const buf *a = NULL;
      if (!c->admin) n_reqs++;
      if (is_post && tlen == 15 && memcmp(target, "/v1/ai3d/submit", 15) == 0) a = &gw_submit;
      else if (is_post && tlen == 14 && memcmp(target, "/v1/ai3d/query", 14) == 0) a = &gw_query;
      else if (is_post && (tlen == 1 || target[1] == '?') && target[0] == '/') {
        v = header(p, end, "X-TC-Action", &vlen);
        if (v != NULL && vlen > 6 && memcmp(v, "Submit", 6) == 0) a = &tc_submit;
        else if (v != NULL && ((vlen > 5 && memcmp(v, "Query", 5) == 0) || (vlen > 8 && memcmp(v, "Describe", 8) == 0)))
          a = &tc_query;
        else a = &tc_invalid;
      } else if (is_get && tlen >= 5 && memcmp(target, "/blob", 5) == 0 && (tlen == 5 || target[5] == '?')) {
        const char *q = memchr(target, '?', tlen);
        const char *r = header(p, end, "Range", &vlen);
        blob_answer(c, q, q ? tlen - (size_t)(q - target) : 0, r, r ? vlen : 0);
      } else a = &not_found;
      if (a != NULL) buf_add(&c->out, a->p, a->len);
    }
    c->first_done = 1;
    memmove(c->in.p, c->in.p + hlen + (size_t)clen, c->in.len - hlen - (size_t)clen);
    c->in.len -= hlen + (size_t)clen;
  }
  return 1;
}

/* Sends what is pending. Returns 0 when the connection must close now. */
static int flush(conn *c) {
  while (c->out_pos < c->out.len) {
    ssize_t n = send(c->fd, c->out.p + c->out_pos, c->out.len - c->out_pos, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) { set_events(c, 1); return 1; }
      return 0;
    }
    c->out_pos += (size_t)n;
  }
  c->out.len = c->out_pos = 0;
  while (c->blob_left > 0) {
    size_t at = (size_t)(c->blob_off % PERIOD);
    size_t want = c->blob_left < CHUNK ? (size_t)c->blob_left : CHUNK;
    ssize_t n = send(c->fd, pattern + at, want, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) { set_events(c, 1); return 1; }
      return 0;
    }
    c->blob_off += (unsigned long long)n;
    c->blob_left -= (unsigned long long)n;
    if (!c->admin) n_blob += (unsigned long long)n;
  }
  set_events(c, 0);
  return !c->close_after;
}

/* Reads, answers and writes until the socket would block. Returns 0 when c must close. */
static int on_event(conn *c, unsigned events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      ssize_t n;
      buf_reserve(&c->in, 16384);
      n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
      if (n > 0) { c->in.len += (size_t)n; continue; }
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return 0;
    }
  }
  for (;;) {
    size_t before = c->in.len;
    int behind_blob = c->blob_left > 0;
    if (!serve(c)) return 0;
    if (!flush(c)) return 0;
    if (c->want_out || c->close_after || c->in.len == 0) return 1;
    /* go on while requests were answered, or a finished blob let the ones behind it through */
    if (c->in.len == before && !behind_blob) return 1;
  }
}

static void accept_all(int lfd) {
  for (;;) {
    int one = 1;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct epoll_event ev;
    conn *c;
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;                                 /* EAGAIN, or out of descriptors: retried later */
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c = calloc(1, sizeof *c);
    if (c == NULL) die("calloc");
    c->fd = fd;
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    n_conns++;
    n_open++;
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int port = 0, lfd, one = 1;
  double lifetime = 0, start = now();
  struct sockaddr_in addr;
  socklen_t alen = sizeof addr;
  struct epoll_event ev, events[128];
  static int listener_tag;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--lifetime") == 0 && i + 1 < argc) lifetime = atof(argv[++i]);
    else if (strcmp(argv[i], "--verbose") == 0) verbose = 1;
    else {
      fprintf(stderr, "usage: %s [--port N] [--lifetime SECONDS] [--verbose]\n", argv[0]);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  build_pattern();
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");
  if (getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) die("getsockname");
  port = ntohs(addr.sin_port);
  build_answers(port);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  ev.events = EPOLLIN;
  ev.data.ptr = &listener_tag;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl listen");
  printf("http://127.0.0.1:%d\n", port);
  fflush(stdout);

  for (;;) {
    int n = epoll_wait(ep, events, 128, lifetime > 0 ? 1000 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == &listener_tag) {
        accept_all(lfd);
        continue;
      }
      conn *c = events[i].data.ptr;
      if (!on_event(c, events[i].events)) close_conn(c);
    }
    if (lifetime > 0 && now() - start > lifetime) return 0;
  }
}
