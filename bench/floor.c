/*
 * bench/floor.c — the floor of the per-request overhead table: one reused libcurl easy handle
 * doing the gateway's submit, then N queries, with the same headers and bodies hy3d sends, the
 * body collected into a reused buffer and no JSON work (the JobId is cut out of the submit's
 * answer with strstr). No Lua client can beat it; the table says how close each one gets.
 *
 * Built with -DFLOOR_LUA it is the decode-included floor (floor-decode): the same loop in a C
 * program that embeds a Lua state (Lua 5.4 or LuaJIT, whichever it is linked with), loads Debian's
 * lua-cjson with require and, per query, calls cjson.decode on the body, leaving the table to the
 * collector as a Lua caller would. That is the least any Lua client that hands back the answer as a
 * table must do; hy3d's query does that plus building the request and its Lua layer.
 *
 * Usage: floor URL N      Prints one JSON line like the Lua contenders (bench/overhead/common.lua).
 * Build: cc -O2 -Wall -Wextra -o build/bench/floor bench/floor.c $(pkg-config --cflags --libs libcurl)
 *        cc -O2 -DFLOOR_LUA $(pkg-config --cflags lua5.4) -o build/bench/floor-decode-5.4 bench/floor.c \
 *          $(pkg-config --libs libcurl lua5.4)          (LuaJIT: luajit instead of lua5.4)
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef FLOOR_LUA
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#endif

typedef struct {
  char *p;
  size_t len, cap;
} sink;

static size_t collect(char *data, size_t size, size_t n, void *ud) {
  sink *s = ud;
  size_t len = size * n;
  if (s->len + len > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    while (cap < s->len + len) cap *= 2;
    char *p = realloc(s->p, cap);
    if (p == NULL) return 0;
    s->p = p;
    s->cap = cap;
  }
  memcpy(s->p + s->len, data, len);
  s->len += len;
  return len;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double percentile(const double *sorted, long n, double p) {
  long i = (long)(n * p + 0.999999999);
  if (n == 0) return 0;
  if (i < 1) i = 1;
  return sorted[i - 1];
}

/* One POST of body to url; 0 when it got a 200 with a body. */
static int post(CURL *e, sink *s, const char *url, const char *body) {
  long status = 0;
  s->len = 0;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
  if (curl_easy_perform(e) != CURLE_OK) return 1;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  return status == 200 && s->len > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *base;
  char submit_url[512], query_url[512], ua[128], query[128] = "{\"JobId\":\"1357237233311637504\"}";
  const char *id;
  long n, errors = 0;
  double *lat, t, submit, w0, c0, wall, cpus;
  sink s = {0};
  struct curl_slist *headers = NULL;
  CURL *e;
#ifdef FLOOR_LUA
  const char *name = "floor-decode";
  lua_State *L = luaL_newstate();
  int decode;                                   /* stack index of cjson.decode */
  if (L == NULL) return 1;
  luaL_openlibs(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) != 0) {
    fprintf(stderr, "floor-decode: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_getfield(L, -1, "decode");                /* cjson, decode */
  decode = lua_gettop(L);
#else
  const char *name = "floor";
#endif

  if (argc < 3) {
    fprintf(stderr, "usage: %s URL N\n", argv[0]);
    return 2;
  }
  base = argv[1];
  n = atol(argv[2]);
  snprintf(submit_url, sizeof submit_url, "%s/v1/ai3d/submit", base);
  snprintf(query_url, sizeof query_url, "%s/v1/ai3d/query", base);
  lat = calloc((size_t)(n > 0 ? n : 1), sizeof *lat);
  if (lat == NULL) return 1;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  e = curl_easy_init();
  /* hy3d's API headers (src/hy3d_engine.c), its Accept-Encoding and a User-Agent of its length */
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");
  headers = curl_slist_append(headers, "Authorization: sk-hy3d-sandbox");
  snprintf(ua, sizeof ua, "hy3d/0.4.0 (libcurl/%s; Lua 5.4)", curl_version_info(CURLVERSION_NOW)->version);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);

  t = now();
  errors += post(e, &s, submit_url, "{\"Prompt\":\"a small wooden chair\"}");
  submit = now() - t;
  id = s.len > 0 ? memmem(s.p, s.len, "\"JobId\":\"", 9) : NULL;
  if (id != NULL) {
    const char *end = memchr(id + 9, '"', s.len - (size_t)(id + 9 - s.p));
    if (end != NULL && end - (id + 9) < 64) snprintf(query, sizeof query, "{\"JobId\":\"%.*s\"}", (int)(end - (id + 9)), id + 9);
  }

  w0 = now();
  c0 = cpu();
  for (long i = 0; i < n; i++) {
    double a = now();
    errors += post(e, &s, query_url, query);
#ifdef FLOOR_LUA
    /* the answer as a Lua table, left to the collector (a Lua caller would keep it a while) */
    lua_pushvalue(L, decode);
    lua_pushlstring(L, s.p, s.len);
    if (lua_pcall(L, 1, 1, 0) != 0 || !lua_istable(L, -1)) errors++;
    lua_pop(L, 1);
#endif
    lat[i] = now() - a;
  }
  wall = now() - w0;
  cpus = cpu() - c0;

  qsort(lat, (size_t)n, sizeof *lat, cmp);
  printf("{\"name\":\"%s\",\"requests\":%ld,\"p50_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f,\"wall_s\":%.3f,"
         "\"cpu_s\":%.3f,\"submit_us\":%.3f,\"errors\":%ld,\"libcurl\":\"%s\"}\n",
         name, n, percentile(lat, n, 0.5) * 1e6, percentile(lat, n, 0.99) * 1e6, n > 0 ? wall / (double)n * 1e6 : 0.0,
         wall, cpus, submit * 1e6, errors, curl_version_info(CURLVERSION_NOW)->version);
  curl_slist_free_all(headers);
  curl_easy_cleanup(e);
  curl_global_cleanup();
  free(lat);
  free(s.p);
#ifdef FLOOR_LUA
  lua_close(L);
#endif
  return errors ? 1 : 0;
}
