/* hy3d_image.c — image headers: the format and pixel size of PNG, JPEG and WebP data, read without decoding. */
#include <string.h>

#include "hy3d.h"

static unsigned long be16(const unsigned char *p) { return ((unsigned long)p[0] << 8) | p[1]; }
static unsigned long le16(const unsigned char *p) { return ((unsigned long)p[1] << 8) | p[0]; }
static unsigned long le24(const unsigned char *p) { return le16(p) | ((unsigned long)p[2] << 16); }
static unsigned long be32(const unsigned char *p) { return (be16(p) << 16) | be16(p + 2); }

typedef struct image_size {
  const char *format;
  unsigned long width, height;
} image_size;

/* PNG: the signature, then IHDR first with width and height (big-endian). */
static const char *png_size(const unsigned char *p, size_t n, image_size *out) {
  if (n < 24 || memcmp(p + 12, "IHDR", 4) != 0) return "a PNG without its IHDR header";
  out->width = be32(p + 16);
  out->height = be32(p + 20);
  return NULL;
}

/* JPEG: walks the marker segments to the first frame header (SOF0..SOF15 but DHT, JPG, DAC). */
static const char *jpeg_size(const unsigned char *p, size_t n, image_size *out) {
  size_t i = 2;
  while (i + 4 <= n) {
    unsigned int m;
    if (p[i] != 0xFF) return "a JPEG with a broken marker";
    while (i < n && p[i] == 0xFF) i++;          /* fill bytes */
    if (i >= n) break;
    m = p[i++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;   /* no length */
    if (m == 0xD9 || m == 0xDA) return "a JPEG without a frame header before its image data";
    if (i + 2 > n) break;
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      if (i + 7 > n) break;
      out->height = be16(p + i + 3);
      out->width = be16(p + i + 5);
      return NULL;
    }
    if (be16(p + i) < 2) return "a JPEG with a broken segment length";
    i += be16(p + i);
  }
  return "a JPEG cut short before its frame header";
}

/* WebP: RIFF/WEBP with a VP8 (lossy), VP8L (lossless) or VP8X (extended) first chunk. */
static const char *webp_size(const unsigned char *p, size_t n, image_size *out) {
  const unsigned char *c = p + 20;              /* the first chunk's payload */
  if (n < 30) return "a WebP cut short";
  if (memcmp(p + 12, "VP8 ", 4) == 0) {
    if (c[3] != 0x9D || c[4] != 0x01 || c[5] != 0x2A) return "a WebP with a broken VP8 frame";
    out->width = le16(c + 6) & 0x3FFF;
    out->height = le16(c + 8) & 0x3FFF;
  } else if (memcmp(p + 12, "VP8L", 4) == 0) {
    unsigned long bits;
    if (c[0] != 0x2F) return "a WebP with a broken VP8L header";
    bits = le24(c + 1) | ((unsigned long)c[4] << 24);
    out->width = (bits & 0x3FFF) + 1;
    out->height = ((bits >> 14) & 0x3FFF) + 1;
  } else if (memcmp(p + 12, "VP8X", 4) == 0) {
    out->width = le24(c + 4) + 1;
    out->height = le24(c + 7) + 1;
  } else {
    return "a WebP of an unknown kind";
  }
  return NULL;
}

/*
 * core.image_info(bytes) -> format, width, height | nil, message
 * format: "png", "jpeg" or "webp"; the size comes from the header, nothing is decoded.
 */
static int core_image_info(lua_State *L) {
  size_t n;
  const unsigned char *p = (const unsigned char *)luaL_checklstring(L, 1, &n);
  image_size out = {NULL, 0, 0};
  const char *why;
  if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
    out.format = "png";
    why = png_size(p, n, &out);
  } else if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    out.format = "jpeg";
    why = jpeg_size(p, n, &out);
  } else if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) {
    out.format = "webp";
    why = webp_size(p, n, &out);
  } else {
    why = "not a PNG, JPEG or WebP image";
  }
  if (why == NULL && (out.width == 0 || out.height == 0)) why = "an image of zero width or height";
  if (why != NULL) {
    lua_pushnil(L);
    lua_pushstring(L, why);
    return 2;
  }
  lua_pushstring(L, out.format);
  lua_pushinteger(L, (lua_Integer)out.width);
  lua_pushinteger(L, (lua_Integer)out.height);
  return 3;
}

const luaL_Reg hy3d_image_funcs[] = {
  {"image_info", core_image_info},
  {NULL, NULL}
};
