/* hy3d_buf.h — a growable byte buffer with no Lua dependency (response bodies). */
#ifndef HY3D_BUF_H
#define HY3D_BUF_H

#include <stddef.h>

typedef struct hy3d_buf {
  char *data;
  size_t len;
  size_t cap;
} hy3d_buf;

/* Appends n bytes; returns 0, or -1 when memory runs out (the buffer is left as it was). */
int hy3d_buf_append(hy3d_buf *b, const void *p, size_t n);
void hy3d_buf_reset(hy3d_buf *b);
void hy3d_buf_free(hy3d_buf *b);

#endif
