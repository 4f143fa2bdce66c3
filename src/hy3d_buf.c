/* hy3d_buf.c — the growable byte buffer that collects response bodies inside libcurl callbacks. */
#include <stdlib.h>
#include <string.h>

#include "hy3d_buf.h"

int hy3d_buf_append(hy3d_buf *b, const void *p, size_t n) {
  if (n == 0) return 0;
  if (n > (size_t)-1 - b->len) return -1;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : (n < 256 ? 256 : n);   /* an API answer mostly comes in one piece */
    char *d;
    while (cap < b->len + n) {
      if (cap > (size_t)-1 / 2) { cap = b->len + n; break; }
      cap *= 2;
    }
    d = (char *)realloc(b->data, cap);
    if (d == NULL) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void hy3d_buf_reset(hy3d_buf *b) {
  b->len = 0;
}

void hy3d_buf_free(hy3d_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
