/* hy3d.h — internal declarations shared by the C core's translation units (not installed). */
#ifndef HY3D_H
#define HY3D_H

#include <stdio.h>
/* CURLOPT_PROTOCOLS is deprecated since 7.85, but it is the fallback for an older runtime libcurl. */
#define CURL_DISABLE_DEPRECATION 1
#include <curl/curl.h>

#include "lua.h"
#include "lauxlib.h"
#include "hy3d_compat.h"
#include "hy3d_buf.h"

/* hy3d's one version: lua/hy3d/init.lua, the sandbox, `hy3d --version`, the rockspec's name and
   CHANGELOG.md follow it (spec/tooling/version_spec.lua checks them all). */
#define HY3D_VERSION "0.4.0"

#define HY3D_CURL_GE(a, b, c) (LIBCURL_VERSION_NUM >= (((a) << 16) | ((b) << 8) | (c)))

#if defined(_WIN32)
#define HY3D_API __declspec(dllexport)
#else
#define HY3D_API __attribute__((visibility("default")))
#endif

#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility push(hidden)
#endif

/* Metatable names (registry keys); luaL_newmetatable also stores them as __name. */
#define HY3D_ENGINE_MT  "hy3d.Engine"
#define HY3D_REQUEST_MT "hy3d.Request"

/*
 * Per-lua_State context lives in upvalues shared by every C function of the module:
 * upvalue 1 is the private lua-cjson instance's encode, upvalue 2 its decode.
 */
#define HY3D_NUPVALUES  2
#define HY3D_UV_ENCODE  lua_upvalueindex(1)
#define HY3D_UV_DECODE  lua_upvalueindex(2)

/* libcurl's receive buffer for downloads (CURLOPT_BUFFERSIZE; its maximum, CURL_MAX_READ_SIZE). */
#define HY3D_FILE_BUFFER (512L * 1024L)

/* Seconds an idle easy handle is kept for the next API requests by default (core.new's pool_idle):
 * the pool holds as many as were in use at once lately (set up already: a new one costs more). */
#define HY3D_POOL_IDLE_S 30.0

/* Connections an engine's cache holds at least (CURLMOPT_MAXCONNECTS, idle and in use; it grows to
 * twice the most transfers in flight at once). Node's http.Agent keeps up to 256 free sockets too. */
#define HY3D_MIN_CACHED_CONNECTIONS 256L

/* Downloads by default: abort below this many bytes/s over the stall window (CURLOPT_LOW_SPEED_*), and
 * past a ceiling of the stall window + size / HY3D_DOWNLOAD_MIN_AVG_RATE once the size is known. */
#define HY3D_DOWNLOAD_MIN_RATE 4096.0
#define HY3D_DOWNLOAD_MIN_AVG_RATE 1024.0

/* The longest ETag / Last-Modified kept to resume a download with (If-Range); longer ones are ignored. */
#define HY3D_VALIDATOR_MAX 256

/* API responses larger than this are refused (a JSON answer of the service is a few KB). */
#define HY3D_MAX_API_BODY (32u * 1024u * 1024u)

typedef struct hy3d_request hy3d_request;
/* A signer's reusable libcrypto state and the day's derived key (opaque; hy3d_sign.c). */
typedef struct hy3d_tc3_cache hy3d_tc3_cache;

/* The longest field name of a response envelope (core.new's envelope table), NUL included. */
#define HY3D_NAME_MAX 64

/*
 * Where an API answer keeps what the classifier reads (hy3d_result.c): the field names Lua gives
 * core.new's `envelope` (from hy3d.doors; the C names nothing of the service). "" = that step is
 * skipped: no root, no unwrapping; no error, no API error; and so on.
 */
typedef struct hy3d_envelope {
  char root[HY3D_NAME_MAX];        /* the object the answer is wrapped in ({"Response": {...}}) */
  char error[HY3D_NAME_MAX];       /* inside it: the API error object ... */
  char code[HY3D_NAME_MAX];        /* ... its code ... */
  char message[HY3D_NAME_MAX];     /* ... and message */
  char request_id[HY3D_NAME_MAX];  /* beside the error: the request's id */
  char http_error[HY3D_NAME_MAX];  /* a non-2xx answer's error (an object with message/code, or a string) */
} hy3d_envelope;

/* API 3.0 (TC3-HMAC-SHA256) configuration of one engine (hy3d_sign.c owns it: _new reads, _free wipes). */
typedef struct hy3d_tc3_cfg {
  char *id;
  char *key;                       /* wiped before it is freed */
  char *token;                     /* STS token (X-TC-Token), wiped too */
  char *region;
  char *version;
  char *language;
  char *service;                   /* the credential scope's service (Lua: hy3d.doors) */
  char *host;                      /* the Host header sent and signed (the base URL's) */
  hy3d_tc3_cache *cache;           /* libcrypto objects and the day's signing key, wiped when freed */
} hy3d_tc3_cfg;

/* A client's transfer engine: one curl multi handle and what every request of it shares. */
typedef struct hy3d_engine {
  CURLM *multi;                    /* NULL once closed */
  hy3d_request *inflight;          /* attached requests (each anchored in the user value) */
  int ninflight;
  char *base_url;                  /* without trailing slash */
  char *user_agent;
  struct curl_slist *api_headers;  /* shared by API requests; holds the credential */
  struct curl_slist *plain_headers; /* the same without the credential (another origin's URL) */
  long timeout_ms;
  long connect_timeout_ms;
  long stall_s;                    /* API requests: abort after this many seconds without a byte (0: off) */
  char *ca_file;                   /* CURLOPT_CAINFO, or NULL for libcurl's default */
  char *ca_path;                   /* CURLOPT_CAPATH */
  int insecure;                    /* 1: no TLS peer/host verification (only when asked) */
  int epfd;                        /* epoll set of libcurl's sockets (a pollable fd for event loops), or -1 */
  int collect;                     /* record finished requests for engine:completed() (a scheduler asked) */
  CURL **idle;                     /* set-up easy handles for API requests, a stack (hy3d_handle.c's pool) */
  int nidle, idle_cap;
  int idle_low;                    /* the fewest idle (but marked ones) since the window began: untouched for it */
  int idle_excess;                 /* the bottom ones still to free, a few per round (hy3d_handle_pool_trim) */
  double idle_s;                   /* the window: idle handles unused that long are freed (pool_idle) */
  double idle_until;               /* hy3d_now() at which the window ends */
  long maxconnects;                /* CURLMOPT_MAXCONNECTS now: twice the most transfers in flight at once, >= 256 */
  CURLSH *share;                   /* TLS sessions and DNS of its transfers (hy3d_handle.c), NULL: none */
  hy3d_tc3_cfg *tc3;               /* API 3.0 signing, or NULL (an engine without: requests are not signed) */
  hy3d_envelope envelope;          /* kept while any request of it lives (they anchor the engine) */
  hy3d_request **armed;            /* engine:poll requests waiting for their next send (in inflight, not on
                                      multi): a binary min-heap on poll_due, so a round finds the due ones
                                      in O(log n) each, whatever the number of jobs polled */
  int narmed, armed_cap;
} hy3d_engine;

enum { HY3D_REQ_IDLE, HY3D_REQ_RUNNING, HY3D_REQ_DONE };
enum { HY3D_KIND_API, HY3D_KIND_FILE };

/* One HTTP exchange on an easy handle: an API request (body collected) or a file download. */
struct hy3d_request {
  CURL *easy;                      /* NULL once closed */
  hy3d_engine *engine;             /* set while attached to the engine's multi handle */
  hy3d_request *prev, *next;       /* links in engine->inflight */
  const hy3d_envelope *envelope;   /* the engine's (it outlives the request) */
  int state;
  int kind;
  CURLcode result;
  long http_status;
  int sink_errno;                  /* file write/close failure (errno) */
  int too_large;                   /* body exceeded its limit */
  int cancelled;                   /* closed or its engine closed before completion */
  hy3d_buf body;                   /* API body, or the first bytes of a failed download */
  struct curl_slist *headers;      /* this request's own headers (API 3.0, If-Range), freed with it */
  FILE *file;                      /* download sink */
  curl_off_t bytes;                /* bytes written to the sink by this transfer */
  curl_off_t offset;               /* bytes already in the sink when a resumed download began */
  curl_off_t max_bytes;            /* 0 = unlimited; counts offset + bytes */
  curl_off_t range_start;          /* from the response's Content-Range (-1: none) */
  curl_off_t range_total;          /* the whole object's size from Content-Range (-1: unknown) */
  int wrote;                       /* the first 2xx body byte arrived (the resume decision is made) */
  int range_mismatch;              /* a 206 started somewhere other than the offset asked for */
  int object_changed;              /* a 206 of another version: its total or ETag differs from the first answer's */
  int head_done;                   /* the current response's header block ended (a later error is not about headers) */
  int insecure_redirect;           /* refused: an https transfer redirected to plain http (not loopback) */
  int deadline_hit;                /* aborted by the size-derived ceiling (see hy3d_download_opts) */
  int allow_http;                  /* https -> http redirects allowed */
  long timeout_ms;                 /* the transfer's total limit (0: none), to tell the timeouts apart */
  long min_rate;                   /* the low-speed limit in bytes/s (0: none) */
  long stall_s;                    /* ... over this many seconds */
  double started;                  /* hy3d_now() when set up */
  double deadline;                 /* hy3d_now() past which the download is aborted (0: not yet known) */
  double ceiling_base;             /* seconds the ceiling allows beyond size / min_avg_rate */
  double min_avg_rate;             /* bytes/s the whole download must average (0: no ceiling) */
  char *meta;                      /* the sidecar file of a validated resume (malloc'ed), or NULL */
  curl_off_t expect_total;         /* the object's size the first answer announced (-1: unknown) */
  char want_etag[HY3D_VALIDATOR_MAX];     /* the first answer's validators (from the sidecar) */
  char want_modified[HY3D_VALIDATOR_MAX];
  char etag[HY3D_VALIDATOR_MAX];          /* this response's ETag and Last-Modified ("" when none) */
  char modified[HY3D_VALIDATOR_MAX];
  char errbuf[CURL_ERROR_SIZE];
  int polling;                     /* an engine:poll request: re-sent while its answer says "still running" */
  int armed;                       /* ... waiting (off the multi handle, still in inflight) until poll_due:
                                      its place in engine->armed plus one, 0 when not armed */
  double poll_due;                 /* hy3d_now() of its next send */
  double poll_interval;            /* seconds between sends */
  double poll_deadline;            /* hy3d_now() past which it surfaces instead of sending again */
};

/* What engine:download asks of hy3d_download_setup. */
typedef struct hy3d_download_opts {
  const char *url;
  const char *path;
  const char *meta;                /* sidecar for a validated resume (NULL: resume blindly, or not at all) */
  long timeout_ms;                 /* total limit (0: none) */
  long stall_s;                    /* window of the low-speed limit, whole seconds */
  long min_rate;                   /* bytes/s over that window (0: only a full stall counts) */
  double min_avg_rate;             /* ceiling: stall_s + size / min_avg_rate (0: none) */
  curl_off_t max_bytes;            /* 0 = unlimited */
  int resume;
  int allow_http;                  /* follow an https -> http redirect to a host that is not loopback */
  const char *body;                /* a JSON body to POST instead of a GET (NULL: GET), and its length */
  size_t body_len;
} hy3d_download_opts;

/*
 * The units, in layer order: each calls only the ones below it, except the one call marked as
 * the exception (spec/tooling/layers_spec.lua checks it from the objects' symbols).
 */

/* ===== hy3d_core.c: luaopen_hy3d_core (the one exported symbol, at the end) ===== */

/* ===== hy3d_engine.c: the multi handle, attach/detach, rounds, wait/step, engine:request/download ===== */
int hy3d_engine_open(lua_State *L);
void hy3d_engine_attach(lua_State *L, int engidx, int reqidx);
/*
 * The one call that runs back up (hy3d_request.c's release takes its request off the engine), as
 * Lua-cURL's lcurl__multi_remove_handle: the double underscore marks the exception.
 */
void hy3d__engine_detach(lua_State *L, int engidx, hy3d_request *req);
hy3d_engine *hy3d_checkengine(lua_State *L, int idx);
extern const luaL_Reg hy3d_engine_funcs[];

/* ===== hy3d_request.c: the hy3d.Request object ===== */
int hy3d_request_open(lua_State *L);
hy3d_request *hy3d_request_new(lua_State *L, hy3d_engine *eng, int kind);
hy3d_request *hy3d_checkrequest(lua_State *L, int idx);
void hy3d_request_finish(hy3d_request *req, CURLcode result);
void hy3d_request_cancel(hy3d_request *req);

/* ===== hy3d_poll.c: engine:poll's spec, its "still running?" check and a re-send's reset and signature ===== */
void hy3d_poll_setup(lua_State *L, int reqidx, int specidx, hy3d_request *req);
int hy3d_poll_again(lua_State *L, int reqidx, hy3d_request *req);
void hy3d_poll_reset(lua_State *L, int reqidx, hy3d_request *req, const hy3d_tc3_cfg *tc3, long long timestamp);

/* ===== hy3d_download.c: the file sink and the C side of the resume protocol ===== */
int hy3d_download_setup(lua_State *L, hy3d_engine *eng, hy3d_request *req, const hy3d_download_opts *o);
void hy3d_download_finish(hy3d_request *req);
size_t hy3d_download_write(char *p, size_t size, size_t n, void *ud);
size_t hy3d_download_header(char *line, size_t size, size_t n, void *ud);

/* ===== hy3d_result.c: a finished transfer as Lua values ===== */
int hy3d_push_api_result(lua_State *L, hy3d_request *req);
int hy3d_push_file_result(lua_State *L, hy3d_request *req);

/* ===== hy3d_handle.c: easy handles with an engine's options, the idle pool ===== */
CURL *hy3d_handle_take(hy3d_engine *eng, int kind);
void hy3d_handle_recycle(hy3d_engine *eng, CURL *easy, int kind);
void hy3d_handle_pool_trim(hy3d_engine *eng);
void hy3d_handle_pool_free(hy3d_engine *eng);
CURLcode hy3d_handle_options(hy3d_engine *eng, CURL *easy);
CURLcode hy3d_handle_prepare(hy3d_request *req, const char *url, long timeout_ms);
CURLSH *hy3d_share_new(void);
CURLcode hy3d_handle_join(hy3d_engine *eng, CURL *easy);
void hy3d_handle_leave(CURL *easy);
void hy3d_share_free(hy3d_engine *eng);
size_t hy3d_api_write(char *p, size_t size, size_t n, void *ud);

/* ===== hy3d_sign.c: TC3-HMAC-SHA256, its configuration and headers; SHA-256, HMAC, base64 ===== */
#define HY3D_TC3_MAX_HEADERS 16

/* What a TC3-HMAC-SHA256 signature covers (a POST to "/"); signed header names lowercase and sorted. */
typedef struct hy3d_tc3 {
  const char *secret_id;
  const char *secret_key;
  size_t secret_key_len;
  const char *service;
  const char *payload;
  size_t payload_len;
  long long timestamp;
  int unsigned_payload;
  int nheaders;
  const char *names[HY3D_TC3_MAX_HEADERS];
  const char *values[HY3D_TC3_MAX_HEADERS];
  size_t value_lens[HY3D_TC3_MAX_HEADERS];
  hy3d_tc3_cache *cache;           /* required: one signer's (the same secret_key and service every time) */
} hy3d_tc3;

int hy3d_tc3_compute(lua_State *L, const hy3d_tc3 *in, int steps);
hy3d_tc3_cache *hy3d_tc3_cache_new(void);
void hy3d_tc3_cache_free(hy3d_tc3_cache *c);
void hy3d_tc3_cfg_new(lua_State *L, int t, const char *base_url, hy3d_tc3_cfg **slot);
void hy3d_tc3_cfg_free(hy3d_tc3_cfg *c);
struct curl_slist *hy3d_tc3_headers(lua_State *L, const hy3d_tc3_cfg *c, const char *host, const char *action,
                                    const char *payload, size_t len, long long timestamp);
extern const luaL_Reg hy3d_sign_funcs[];

/* ===== hy3d_json.c: the private lua-cjson instance ===== */
int hy3d_json_open(lua_State *L);
int hy3d_json_encode(lua_State *L, int idx);
int hy3d_json_decode(lua_State *L, const char *s, size_t len);
extern const luaL_Reg hy3d_json_funcs[];

/* ===== hy3d_scan.c: core.mentions, req:mentions (may an answer hold a secret?) ===== */
void hy3d_scan_json(lua_State *L, const char *s, size_t len, int idx);
extern const luaL_Reg hy3d_scan_funcs[];

/* ===== hy3d_files.c, hy3d_image.c: local files (zip, partial names), image probing ===== */
extern const luaL_Reg hy3d_files_funcs[];
extern const luaL_Reg hy3d_image_funcs[];

/* ===== hy3d_util.c: the helpers every unit may use (class creation, clocks, errors, wiping) ===== */
double hy3d_now(void);
long hy3d_seconds_to_ms(double seconds);
void hy3d_newclass(lua_State *L, const char *name, const luaL_Reg *methods, const luaL_Reg *meta);
void hy3d_push_error(lua_State *L, const char *kind, const char *code, const char *message);
void hy3d_set_int_field(lua_State *L, const char *name, long v);
const char *hy3d_checkpath(lua_State *L, int idx);
void hy3d_push_path_error(lua_State *L, const char *what);
char *hy3d_dup_field(lua_State *L, int t, const char *name, int required);
char *hy3d_url_host(const char *url);
void hy3d_slist_wipe(struct curl_slist *list);
void hy3d_wipe_free(char **s);

#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility pop
#endif

/* The one exported symbol. */
HY3D_API int luaopen_hy3d_core(lua_State *L);

#endif
