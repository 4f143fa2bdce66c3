/* hy3d_sign.c — TC3-HMAC-SHA256: an engine's configuration (hy3d_tc3_cfg: _new reads it, _free wipes it), the X-TC-* headers of a signed request, the signing and the primitives under it (SHA-256, HMAC-SHA256, base64), all from OpenSSL's libcrypto. Depends on hy3d_util.c. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "hy3d.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "hy3d needs OpenSSL 3.0 or later (EVP_MAC)"
#endif

#define HY3D_SHA256_LEN 32

/*
 * What one signer (an engine: one secret_key, one service) keeps between requests: SHA-256 and
 * HMAC fetched from the provider once, their contexts, and an HMAC context keyed with the derived
 * signing key of `date` (TC3's key depends only on the key, the date and the service, so three of
 * the four HMACs run once a day). Freeing it wipes the key (libcrypto cleanses freed contexts).
 */
struct hy3d_tc3_cache {
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  EVP_MAC *hmac;
  EVP_MAC_CTX *day;                /* keyed for `date` */
  char date[32];                   /* "" until a key is derived */
};

void hy3d_tc3_cache_free(hy3d_tc3_cache *c) {
  if (c == NULL) return;
  EVP_MAC_CTX_free(c->day);
  EVP_MAC_free(c->hmac);
  EVP_MD_CTX_free(c->md);
  EVP_MD_free(c->sha256);
  free(c);
}

/* A new cache, or NULL when out of memory or libcrypto has no SHA-256/HMAC. */
hy3d_tc3_cache *hy3d_tc3_cache_new(void) {
  hy3d_tc3_cache *c = (hy3d_tc3_cache *)calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  c->md = EVP_MD_CTX_new();
  c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  c->day = c->hmac != NULL ? EVP_MAC_CTX_new(c->hmac) : NULL;
  if (c->sha256 == NULL || c->md == NULL || c->day == NULL) {
    hy3d_tc3_cache_free(c);
    return NULL;
  }
  return c;
}

static void hex_encode(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* SHA-256 of data as hex with the cache's digest context. Returns 0 when libcrypto fails. */
static int sha256_hex(hy3d_tc3_cache *c, const void *data, size_t len, char out[2 * HY3D_SHA256_LEN + 1]) {
  unsigned char md[HY3D_SHA256_LEN];
  unsigned int n = 0;
  if (!EVP_DigestInit_ex2(c->md, c->sha256, NULL) || !EVP_DigestUpdate(c->md, data, len)
      || !EVP_DigestFinal_ex(c->md, md, &n) || n != HY3D_SHA256_LEN)
    return 0;
  hex_encode(md, sizeof md, out);
  return 1;
}

/* HMAC-SHA256 of msg under key into out (32 bytes). Returns 0 when libcrypto fails. */
static int hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                       unsigned char out[HY3D_SHA256_LEN]) {
  unsigned int n = 0;
  if (keylen > (size_t)INT_MAX) return 0;
  return HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen, out, &n) != NULL
         && n == HY3D_SHA256_LEN;
}

/* core.sha256(s [, "hex"]) -> 32-byte digest, or 64 lowercase hex digits when asked */
static int sign_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *form = luaL_optstring(L, 2, "binary");
  unsigned char md[HY3D_SHA256_LEN];
  char hex[2 * HY3D_SHA256_LEN + 1];
  SHA256((const unsigned char *)s, len, md);
  if (strcmp(form, "hex") == 0) {
    hex_encode(md, sizeof md, hex);
    lua_pushstring(L, hex);
  } else if (strcmp(form, "binary") == 0) {
    lua_pushlstring(L, (const char *)md, sizeof md);
  } else {
    return luaL_argerror(L, 2, "expected \"hex\" or \"binary\"");
  }
  return 1;
}

/* core.hmac_sha256(key, msg [, "hex"]) -> 32-byte MAC, or hex */
static int sign_hmac_sha256(lua_State *L) {
  size_t klen, mlen;
  const char *key = luaL_checklstring(L, 1, &klen);
  const char *msg = luaL_checklstring(L, 2, &mlen);
  const char *form = luaL_optstring(L, 3, "binary");
  unsigned char mac[HY3D_SHA256_LEN];
  char hex[2 * HY3D_SHA256_LEN + 1];
  if (strcmp(form, "hex") != 0 && strcmp(form, "binary") != 0)
    return luaL_argerror(L, 3, "expected \"hex\" or \"binary\"");
  if (!hmac_sha256(key, klen, msg, mlen, mac)) return luaL_error(L, "hmac_sha256: libcrypto failed");
  if (form[0] == 'h') {
    hex_encode(mac, sizeof mac, hex);
    lua_pushstring(L, hex);
  } else {
    lua_pushlstring(L, (const char *)mac, sizeof mac);
  }
  OPENSSL_cleanse(mac, sizeof mac);
  return 1;
}

/* core.base64_encode(s) -> standard base64 with padding, no line breaks */
static int sign_base64_encode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  size_t done = 0;
  luaL_buffinit(L, &b);
  /* EVP_EncodeBlock takes an int length: encode in chunks that are a multiple of 3 bytes. */
  while (done < len) {
    unsigned char out[4 * 1024 + 1];
    size_t n = len - done > 3 * 1024 ? 3 * 1024 : len - done;
    int m = EVP_EncodeBlock(out, (const unsigned char *)s + done, (int)n);
    luaL_addlstring(&b, (const char *)out, (size_t)m);
    done += n;
  }
  luaL_pushresult(&b);
  return 1;
}

/*
 * core.base64_decode(s) -> bytes | nil, message. Standard alphabet; padding optional, line
 * breaks and spaces ignored (EVP_DecodeUpdate's rules). Never raises on bad input.
 */
static int sign_base64_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  EVP_ENCODE_CTX *ctx;
  luaL_Buffer b;
  size_t done = 0;
  int ok = 1, outl;
  unsigned char out[4 * 1024];           /* ≥ 3/4 of (a chunk + the 64 chars the context may hold) */
  ctx = EVP_ENCODE_CTX_new();
  if (!ctx) return luaL_error(L, "base64_decode: out of memory");
  EVP_DecodeInit(ctx);
  luaL_buffinit(L, &b);
  while (ok && done < len) {
    size_t n = len - done > 4 * 1024 ? 4 * 1024 : len - done;
    if (EVP_DecodeUpdate(ctx, out, &outl, (const unsigned char *)s + done, (int)n) < 0) ok = 0;
    else luaL_addlstring(&b, (const char *)out, (size_t)outl);
    done += n;
  }
  if (ok) {
    if (EVP_DecodeFinal(ctx, out, &outl) < 0) ok = 0;
    else luaL_addlstring(&b, (const char *)out, (size_t)outl);
  }
  EVP_ENCODE_CTX_free(ctx);
  luaL_pushresult(&b);
  if (!ok) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_pushliteral(L, "invalid base64 data");
    return 2;
  }
  return 1;
}

/* The UTC calendar date of a UNIX timestamp as YYYY-MM-DD (days-from-civil inverse; no libc time zone). */
static void utc_date(long long ts, char out[32]) {
  long long z = (ts >= 0 ? ts / 86400 : (ts - 86399) / 86400) + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  int d = (int)(doy - (153 * mp + 2) / 5 + 1);
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  long long y = yoe + era * 400 + (m <= 2);
  snprintf(out, 32, "%04d-%02d-%02d", (int)(y < 0 ? 0 : y > 9999 ? 9999 : y), m, d);
}

/* A string field of the table at index 1, left on the stack to anchor it; raises naming the field (never its value). */
static const char *field_string(lua_State *L, const char *name, size_t *len, const char *def) {
  lua_getfield(L, 1, name);
  if (lua_isnil(L, -1) && def) {
    lua_pop(L, 1);
    lua_pushstring(L, def);
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    luaL_error(L, "tc3_sign: field '%s' must be a string", name);
    return NULL;
  }
  return lua_tolstring(L, -1, len);
}

/* Appends `value` trimmed of surrounding spaces and lowercased (TC3's canonical header value). */
static void add_canonical_value(luaL_Buffer *b, const char *v, size_t len) {
  size_t i = 0, j = len;
  while (i < j && isspace((unsigned char)v[i])) i++;
  while (j > i && isspace((unsigned char)v[j - 1])) j--;
  for (; i < j; i++) luaL_addchar(b, (char)tolower((unsigned char)v[i]));
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Keys c->day with the signing key of `date` (step 6: the HMAC chain over date, service and
 * "tc3_request", keyed first by "TC3" .. SecretKey) unless it holds that day's key already.
 * Returns 0 when libcrypto fails; the cache then holds no key. The intermediates are wiped.
 */
static int derive_day_key(lua_State *L, hy3d_tc3_cache *c, const hy3d_tc3 *in, const char *date) {
  unsigned char kdate[HY3D_SHA256_LEN], kservice[HY3D_SHA256_LEN], ksigning[HY3D_SHA256_LEN];
  unsigned char *keybuf;
  char digest[] = "SHA256";
  OSSL_PARAM params[2];
  int ok;
  if (c->date[0] != '\0' && strcmp(c->date, date) == 0) return 1;
  c->date[0] = '\0';
  keybuf = (unsigned char *)lua_newuserdata(L, in->secret_key_len + 3);
  memcpy(keybuf, "TC3", 3);
  memcpy(keybuf + 3, in->secret_key, in->secret_key_len);
  ok = hmac_sha256(keybuf, in->secret_key_len + 3, date, strlen(date), kdate)
       && hmac_sha256(kdate, sizeof kdate, in->service, strlen(in->service), kservice)
       && hmac_sha256(kservice, sizeof kservice, "tc3_request", 11, ksigning);
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  ok = ok && EVP_MAC_init(c->day, ksigning, sizeof ksigning, params);
  OPENSSL_cleanse(keybuf, in->secret_key_len + 3);
  OPENSSL_cleanse(kdate, sizeof kdate);
  OPENSSL_cleanse(kservice, sizeof kservice);
  OPENSSL_cleanse(ksigning, sizeof ksigning);
  lua_pop(L, 1);
  if (ok) memcpy(c->date, date, strlen(date) + 1);
  return ok;
}

/* The signature of the string to sign: HMAC-SHA256 under the day's key (libcrypto reuses the keyed state). */
static int sign_string(hy3d_tc3_cache *c, const char *sts, unsigned char sig[HY3D_SHA256_LEN]) {
  size_t n = 0;
  return EVP_MAC_init(c->day, NULL, 0, NULL) && EVP_MAC_update(c->day, (const unsigned char *)sts, strlen(sts))
         && EVP_MAC_final(c->day, sig, &n, HY3D_SHA256_LEN) && n == HY3D_SHA256_LEN;
}

/*
 * Steps 1-7 of the reference's §4 for `POST /`. `names`/`values` are the signed headers, names
 * lowercase and sorted; in->cache holds libcrypto's objects and the day's key between calls.
 * Pushes the Authorization value and, when `steps` is set, a table of the intermediates. Key
 * material is wiped; errors never mention it.
 */
int hy3d_tc3_compute(lua_State *L, const hy3d_tc3 *in, int steps) {
  char date[32], tsbuf[32];
  char hashed[2 * HY3D_SHA256_LEN + 1], creq_hash[2 * HY3D_SHA256_LEN + 1], sig_hex[2 * HY3D_SHA256_LEN + 1];
  unsigned char sig[HY3D_SHA256_LEN];
  const char *creq, *scope, *sts, *signed_names;
  size_t len;
  int i, ok, base = lua_gettop(L);
  luaL_Buffer b;

  luaL_buffinit(L, &b);
  for (i = 0; i < in->nheaders; i++) {
    if (i) luaL_addchar(&b, ';');
    luaL_addstring(&b, in->names[i]);
  }
  luaL_pushresult(&b);
  signed_names = lua_tostring(L, base + 1);
  /* Steps 1-3: date, payload hash, canonical request. */
  utc_date(in->timestamp, date);
  snprintf(tsbuf, sizeof tsbuf, "%lld", in->timestamp);
  if (in->unsigned_payload) ok = sha256_hex(in->cache, "UNSIGNED-PAYLOAD", 16, hashed);
  else ok = sha256_hex(in->cache, in->payload, in->payload_len, hashed);
  if (!ok) return luaL_error(L, "tc3_sign: libcrypto SHA-256 failed");
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "POST\n/\n\n");
  for (i = 0; i < in->nheaders; i++) {
    luaL_addstring(&b, in->names[i]);
    luaL_addchar(&b, ':');
    add_canonical_value(&b, in->values[i], in->value_lens[i]);
    luaL_addchar(&b, '\n');
  }
  luaL_addchar(&b, '\n');
  luaL_addstring(&b, signed_names);
  luaL_addchar(&b, '\n');
  luaL_addstring(&b, hashed);
  luaL_pushresult(&b);
  creq = lua_tolstring(L, base + 2, &len);
  if (!sha256_hex(in->cache, creq, len, creq_hash)) return luaL_error(L, "tc3_sign: libcrypto SHA-256 failed");
  /* Steps 4-5: credential scope and string to sign. */
  scope = lua_pushfstring(L, "%s/%s/tc3_request", date, in->service);                 /* base + 3 */
  sts = lua_pushfstring(L, "TC3-HMAC-SHA256\n%s\n%s\n%s", tsbuf, scope, creq_hash);  /* base + 4 */
  /* Step 6: the day's derived key (cached), then the signature. */
  ok = derive_day_key(L, in->cache, in, date) && sign_string(in->cache, sts, sig);
  if (!ok) return luaL_error(L, "tc3_sign: libcrypto HMAC failed");
  hex_encode(sig, sizeof sig, sig_hex);
  OPENSSL_cleanse(sig, sizeof sig);
  /* Step 7: the Authorization value, then the intermediates (for tests and verifiers). */
  lua_pushfstring(L, "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                  in->secret_id, scope, signed_names, sig_hex);                      /* base + 5 */
  if (!steps) {
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
  }
  lua_createtable(L, 0, 7);
  lua_pushstring(L, date);
  lua_setfield(L, -2, "date");
  lua_pushvalue(L, base + 3);
  lua_setfield(L, -2, "credential_scope");
  lua_pushstring(L, hashed);
  lua_setfield(L, -2, "hashed_payload");
  lua_pushvalue(L, base + 2);
  lua_setfield(L, -2, "canonical_request");
  lua_pushvalue(L, base + 4);
  lua_setfield(L, -2, "string_to_sign");
  lua_pushstring(L, sig_hex);
  lua_setfield(L, -2, "signature");
  lua_pushvalue(L, base + 1);
  lua_setfield(L, -2, "signed_headers");
  lua_replace(L, base + 2);
  lua_replace(L, base + 1);
  lua_settop(L, base + 2);
  return 2;
}

static int cache_gc(lua_State *L) {
  hy3d_tc3_cache **p = (hy3d_tc3_cache **)lua_touserdata(L, 1);
  hy3d_tc3_cache_free(*p);
  *p = NULL;
  return 0;
}

/* Pushes a userdata owning a new cache (freed by __gc, so an error later cannot leak it); returns the cache. */
static hy3d_tc3_cache *push_cache(lua_State *L) {
  hy3d_tc3_cache **p = (hy3d_tc3_cache **)lua_newuserdata(L, sizeof *p);
  *p = NULL;
  if (luaL_newmetatable(L, "hy3d.TC3Cache")) {
    lua_pushcfunction(L, cache_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  *p = hy3d_tc3_cache_new();
  if (*p == NULL) luaL_error(L, "tc3_sign: out of memory (libcrypto)");
  return *p;
}

/*
 * core.tc3_sign{ secret_id=, secret_key=, timestamp=, payload=, host=, content_type=?"application/json",
 *                service=?(the host's first label), headers=?{[lowercase name] = value},
 *                signed_headers=?"content-type;host",
 *                unsigned_payload=?false }
 *   -> authorization, { date, credential_scope, hashed_payload, canonical_request, string_to_sign,
 *                       signature, signed_headers }
 * `signed_headers` chooses which headers are signed (sorted for the canonical request; values
 * trimmed and lowercased); headers other than host and content-type take their values from `headers`.
 */
static int sign_tc3(lua_State *L) {
  size_t idlen, hostlen, ctlen, svclen, shlen;
  const char *host, *ctype, *signed_list;
  char namebuf[512];
  hy3d_tc3 in;
  int i, isnum = 0, hidx;

  memset(&in, 0, sizeof in);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  in.secret_id = field_string(L, "secret_id", &idlen, NULL);
  in.secret_key = field_string(L, "secret_key", &in.secret_key_len, NULL);
  in.payload = field_string(L, "payload", &in.payload_len, NULL);
  host = field_string(L, "host", &hostlen, NULL);
  ctype = field_string(L, "content_type", &ctlen, "application/json");
  lua_getfield(L, 1, "service");
  if (lua_isnil(L, -1)) {                       /* as the official SDK: the host's first label */
    lua_pop(L, 1);
    lua_pushlstring(L, host, strcspn(host, ".:"));
  }
  if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "tc3_sign: field 'service' must be a string");
  in.service = lua_tolstring(L, -1, &svclen);
  signed_list = field_string(L, "signed_headers", &shlen, "content-type;host");
  lua_getfield(L, 1, "timestamp");
  in.timestamp = (long long)lua_tointegerx(L, -1, &isnum);
  if (!isnum || in.timestamp < 0 || in.timestamp > 253402300799LL)
    return luaL_error(L, "tc3_sign: field 'timestamp' must be a UNIX time (seconds, year 1970..9999)");
  lua_pop(L, 1);
  lua_getfield(L, 1, "unsigned_payload");
  in.unsigned_payload = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "headers");
  hidx = lua_gettop(L);
  if (!lua_isnil(L, hidx) && !lua_istable(L, hidx)) return luaL_error(L, "tc3_sign: field 'headers' must be a table");
  if (idlen == 0 || in.secret_key_len == 0) return luaL_error(L, "tc3_sign: secret_id and secret_key must not be empty");
  /* Used as C strings below: an embedded NUL would silently sign a shorter value than the one given. */
  if (strlen(in.secret_id) != idlen) return luaL_error(L, "tc3_sign: field 'secret_id' contains a NUL byte");
  if (strlen(in.service) != svclen) return luaL_error(L, "tc3_sign: field 'service' contains a NUL byte");
  if (strlen(signed_list) != shlen) return luaL_error(L, "tc3_sign: field 'signed_headers' contains a NUL byte");
  if (svclen == 0 || strchr(in.service, '/')) return luaL_error(L, "tc3_sign: field 'service' is not a service name");
  if (shlen == 0 || shlen >= sizeof namebuf) return luaL_error(L, "tc3_sign: field 'signed_headers' is empty or too long");

  /* The signed header names: lowercased, split at ';', sorted. */
  for (i = 0; i <= (int)shlen; i++) namebuf[i] = (char)tolower((unsigned char)signed_list[i]);
  {
    char *p = namebuf;
    while (p) {
      char *semi = strchr(p, ';');
      if (semi) *semi = '\0';
      if (*p == '\0') return luaL_error(L, "tc3_sign: field 'signed_headers' has an empty name");
      if (in.nheaders == HY3D_TC3_MAX_HEADERS) return luaL_error(L, "tc3_sign: too many signed headers");
      in.names[in.nheaders++] = p;
      p = semi ? semi + 1 : NULL;
    }
  }
  qsort(in.names, (size_t)in.nheaders, sizeof in.names[0], name_cmp);
  for (i = 0; i < in.nheaders; i++) {
    const char *name = in.names[i];
    if (strcmp(name, "content-type") == 0) {
      in.values[i] = ctype;
      in.value_lens[i] = ctlen;
    } else if (strcmp(name, "host") == 0) {
      in.values[i] = host;
      in.value_lens[i] = hostlen;
    } else {
      if (lua_istable(L, hidx)) lua_getfield(L, hidx, name); else lua_pushnil(L);
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "tc3_sign: signed header '%s' has no value in 'headers'", name);
      in.values[i] = lua_tolstring(L, -1, &in.value_lens[i]);   /* anchored on the stack */
    }
  }
  in.cache = push_cache(L);                                     /* freed by its __gc */
  return hy3d_tc3_compute(L, &in, 1);
}

/* ===== an engine's configuration and headers ===== */

/*
 * Reads the tc3 table at t (secret_id, secret_key, version and service required; token, region,
 * language optional) into a new configuration stored in *slot before it is filled, so that when a
 * field raises (as core.new) the owner's hy3d_tc3_cfg_free releases what was read. The Host
 * signed is base_url's.
 */
void hy3d_tc3_cfg_new(lua_State *L, int t, const char *base_url, hy3d_tc3_cfg **slot) {
  hy3d_tc3_cfg *c = (hy3d_tc3_cfg *)calloc(1, sizeof *c);
  if (c == NULL) luaL_error(L, "hy3d.core.new: out of memory");
  *slot = c;
  c->id = hy3d_dup_field(L, t, "secret_id", 1);
  c->key = hy3d_dup_field(L, t, "secret_key", 1);
  c->token = hy3d_dup_field(L, t, "token", 0);
  c->region = hy3d_dup_field(L, t, "region", 0);
  c->version = hy3d_dup_field(L, t, "version", 1);
  c->language = hy3d_dup_field(L, t, "language", 0);
  c->service = hy3d_dup_field(L, t, "service", 1);
  if (c->id[0] == '\0' || c->key[0] == '\0')
    luaL_error(L, "hy3d.core.new: tc3 secret_id and secret_key must not be empty");
  if (c->service[0] == '\0' || strchr(c->service, '/') != NULL)
    luaL_error(L, "hy3d.core.new: tc3 service is not a service name");
  c->host = hy3d_url_host(base_url);
  if (c->host == NULL) luaL_error(L, "hy3d.core.new: base_url has no host");
  c->cache = hy3d_tc3_cache_new();
  if (c->cache == NULL) luaL_error(L, "hy3d.core.new: out of memory (libcrypto SHA-256/HMAC)");
}

/* Frees a configuration, wiping the key, the token and the day's signing key; NULL is fine. */
void hy3d_tc3_cfg_free(hy3d_tc3_cfg *c) {
  if (c == NULL) return;
  hy3d_wipe_free(&c->key);
  hy3d_wipe_free(&c->token);
  hy3d_tc3_cache_free(c->cache);
  free(c->id);
  free(c->region);
  free(c->version);
  free(c->language);
  free(c->service);
  free(c->host);
  free(c);
}

/* Appends "Name: value" to *list; 0 when out of memory. The line is wiped (it may hold a credential). */
static int add_header(struct curl_slist **list, const char *name, const char *value) {
  size_t n = strlen(name), v = strlen(value);
  char *line = (char *)malloc(n + v + 3);
  struct curl_slist *next;
  if (line == NULL) return 0;
  memcpy(line, name, n);
  memcpy(line + n, ": ", 2);
  memcpy(line + n + 2, value, v + 1);
  next = curl_slist_append(*list, line);
  memset(line, 0, n + v + 2);
  free(line);
  if (next == NULL) return 0;
  *list = next;
  return 1;
}

/*
 * The headers of one signed request with this payload, sent to host, signed at timestamp:
 * Content-Type, Host, Accept, X-TC-* and Authorization (TC3's protocol names). Pushes the
 * Authorization value while it builds (popped before return). Returns the list (the caller frees
 * it with hy3d_slist_wipe) or NULL when out of memory.
 */
struct curl_slist *hy3d_tc3_headers(lua_State *L, const hy3d_tc3_cfg *c, const char *host, const char *action,
                                    const char *payload, size_t len, long long timestamp) {
  struct curl_slist *list = NULL;
  hy3d_tc3 in;
  char ts[32];
  int ok;
  memset(&in, 0, sizeof in);
  in.secret_id = c->id;
  in.secret_key = c->key;
  in.secret_key_len = strlen(c->key);
  in.service = c->service;
  in.cache = c->cache;
  in.payload = payload;
  in.payload_len = len;
  in.timestamp = timestamp;
  in.nheaders = 2;
  in.names[0] = "content-type";
  in.values[0] = "application/json";
  in.value_lens[0] = sizeof "application/json" - 1;
  in.names[1] = "host";
  in.values[1] = host;
  in.value_lens[1] = strlen(host);
  hy3d_tc3_compute(L, &in, 0);                   /* authorization */
  snprintf(ts, sizeof ts, "%lld", in.timestamp);
  ok = add_header(&list, "Content-Type", "application/json")
       && add_header(&list, "Host", host)
       && add_header(&list, "Accept", "application/json")
       && add_header(&list, "Expect", "")
       && add_header(&list, "X-TC-Action", action)
       && add_header(&list, "X-TC-Version", c->version)
       && add_header(&list, "X-TC-Timestamp", ts)
       && (c->region == NULL || add_header(&list, "X-TC-Region", c->region))
       && (c->language == NULL || add_header(&list, "X-TC-Language", c->language))
       && (c->token == NULL || add_header(&list, "X-TC-Token", c->token))
       && add_header(&list, "Authorization", lua_tostring(L, -1));
  lua_pop(L, 1);
  if (!ok) {
    hy3d_slist_wipe(list);
    return NULL;
  }
  return list;
}

const luaL_Reg hy3d_sign_funcs[] = {
  {"sha256", sign_sha256},
  {"hmac_sha256", sign_hmac_sha256},
  {"base64_encode", sign_base64_encode},
  {"base64_decode", sign_base64_decode},
  {"tc3_sign", sign_tc3},
  {NULL, NULL}
};
