/* hy3d_files.c — local files around downloads: directories, owner-only appends, terminal checks, zip extraction (libzip) that never writes outside its folder nor past its limits, and a JSON answer saved to a file read without loading it: skimmed of its long strings, or one base64 field decoded (libcrypto) into another file. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <openssl/evp.h>

#include "hy3d.h"

#define UNZIP_MAX_NAME 4096
#define UNZIP_MAX_RATIO 200.0          /* default: an entry may unpack to 200 times its compressed size */
#define UNZIP_RATIO_GRACE 65536.0      /* entries this small are never refused for their ratio */

/* What one extraction created (relative to its root), so a failure can take it all back. */
typedef struct created {
  char **paths;
  unsigned char *isdir;
  size_t n, cap;
} created;

typedef struct unzip_job {
  zip_t *za;
  int rootfd;
  int made_root;                 /* the root directory was created by this extraction */
  int overwrite;                 /* replace files that exist (never through a link) */
  lua_Number max_bytes;          /* the most bytes the whole extraction may write */
  lua_Number written;            /* bytes written so far (counted, not the archive's claims) */
  created made;
  const char *entry;             /* the entry being handled, for messages */
  const char *code;              /* the error, when one happened */
  char message[256];
  int err;                       /* errno of an I/O failure */
} unzip_job;

static int job_fail(unzip_job *j, const char *code, const char *message, int err) {
  j->code = code;
  j->err = err;
  snprintf(j->message, sizeof j->message, "%s", message);
  return 0;
}

static int remember(unzip_job *j, const char *path, size_t len, int isdir) {
  created *c = &j->made;
  char *copy;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    char **p = (char **)realloc(c->paths, cap * sizeof *p);
    unsigned char *d;
    if (p == NULL) return job_fail(j, "OUT_OF_MEMORY", "out of memory", ENOMEM);
    c->paths = p;
    d = (unsigned char *)realloc(c->isdir, cap);
    if (d == NULL) return job_fail(j, "OUT_OF_MEMORY", "out of memory", ENOMEM);
    c->isdir = d;
    c->cap = cap;
  }
  copy = (char *)malloc(len + 1);
  if (copy == NULL) return job_fail(j, "OUT_OF_MEMORY", "out of memory", ENOMEM);
  memcpy(copy, path, len);
  copy[len] = '\0';
  c->paths[c->n] = copy;
  c->isdir[c->n] = (unsigned char)isdir;
  c->n++;
  return 1;
}

/* Takes back what the extraction made, newest first (a failed extraction leaves nothing of its own). */
static void rollback(unzip_job *j) {
  size_t i = j->made.n;
  while (i-- > 0) (void)unlinkat(j->rootfd, j->made.paths[i], j->made.isdir[i] ? AT_REMOVEDIR : 0);
}

static void created_free(created *c) {
  size_t i;
  for (i = 0; i < c->n; i++) free(c->paths[i]);
  free(c->paths);
  free(c->isdir);
}

/*
 * Whether an entry name stays inside the folder: relative, '/'-separated, no ".." component, no
 * backslash (a separator elsewhere), no drive letter, no control byte.
 */
static const char *unsafe_name(const char *name) {
  const char *p = name, *seg;
  size_t len = strlen(name);
  if (len == 0) return "an empty name";
  if (len >= UNZIP_MAX_NAME) return "a name too long";
  if (name[0] == '/') return "an absolute path";
  if (len >= 2 && name[1] == ':') return "a drive letter";
  for (; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '\\') return "a backslash";
    if (c < 0x20 || c == 0x7f) return "a control character";
  }
  for (seg = name; *seg != '\0';) {
    const char *end = strchr(seg, '/');
    size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);
    if (n == 2 && seg[0] == '.' && seg[1] == '.') return "a \"..\" component";
    seg += n;
    if (*seg == '/') seg++;
  }
  return NULL;
}

/* Refuses links and devices: only regular files and directories come out of an archive. */
static const char *unsafe_type(zip_t *za, zip_uint64_t i) {
  zip_uint8_t opsys = 0;
  zip_uint32_t attr = 0;
  mode_t type;
  if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0) return "unreadable attributes";
  if (opsys != ZIP_OPSYS_UNIX) return NULL;
  type = (mode_t)(attr >> 16) & S_IFMT;
  if (type == S_IFLNK) return "a symbolic link";
  if (type != 0 && type != S_IFREG && type != S_IFDIR) return "a device, socket or pipe";
  return NULL;
}

/*
 * Opens (creating as needed) the directory `path[0..len)` under the root, one component at a time
 * and never through a symbolic link. Returns a directory fd or -1.
 */
static int open_dirs(unzip_job *j, const char *path, size_t len) {
  int fd = dup(j->rootfd);
  size_t start = 0;
  if (fd < 0) {
    job_fail(j, "WRITE_ERROR", strerror(errno), errno);
    return -1;
  }
  while (start < len) {
    char comp[UNZIP_MAX_NAME];
    size_t end = start;
    int next;
    while (end < len && path[end] != '/') end++;
    if (end > start && !(end - start == 1 && path[start] == '.')) {
      memcpy(comp, path + start, end - start);
      comp[end - start] = '\0';
      if (mkdirat(fd, comp, 0777) == 0) {
        if (!remember(j, path, end, 1)) { close(fd); return -1; }
      } else if (errno != EEXIST) {
        int e = errno;
        close(fd);
        job_fail(j, "WRITE_ERROR", strerror(e), e);
        return -1;
      }
      next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (next < 0) {
        int e = errno;
        close(fd);
        job_fail(j, e == ELOOP || e == ENOTDIR ? "ZIP_UNSAFE_ENTRY" : "WRITE_ERROR",
                 e == ELOOP ? "a directory on its path is a symbolic link" : strerror(e), e);
        return -1;
      }
      close(fd);
      fd = next;
    }
    start = end + 1;
  }
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Extracts entry i (a regular file) to its name under the root. */
static int extract_file(unzip_job *j, zip_uint64_t i, const char *name, zip_uint64_t size) {
  const char *slash = strrchr(name, '/');
  size_t dirlen = slash != NULL ? (size_t)(slash - name) : 0;
  const char *base = slash != NULL ? slash + 1 : name;
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | (j->overwrite ? O_TRUNC : O_EXCL);
  int dfd, fd, ok = 1;
  zip_file_t *zf;
  zip_uint64_t done = 0;
  char buf[65536];
  dfd = open_dirs(j, name, dirlen);
  if (dfd < 0) return 0;
  fd = openat(dfd, base, flags, 0666);
  if (fd < 0) {
    int e = errno;
    close(dfd);
    if (e == EEXIST) return job_fail(j, "ZIP_DUPLICATE", "the archive holds this name twice (or it exists)", e);
    if (e == ELOOP) return job_fail(j, "ZIP_UNSAFE_ENTRY", "the file to write is a symbolic link", e);
    return job_fail(j, "WRITE_ERROR", strerror(e), e);
  }
  close(dfd);
  if (!remember(j, name, strlen(name), 0)) { close(fd); return 0; }
  zf = zip_fopen_index(j->za, i, 0);
  if (zf == NULL) {
    close(fd);
    return job_fail(j, "ZIP_INVALID", zip_strerror(j->za), 0);
  }
  for (;;) {
    zip_int64_t got = zip_fread(zf, buf, sizeof buf);
    if (got < 0) {
      ok = job_fail(j, "ZIP_INVALID", zip_file_strerror(zf), 0);
      break;
    }
    if (got == 0) break;
    done += (zip_uint64_t)got;
    j->written += (lua_Number)got;
    if (j->written > j->max_bytes) {              /* the archive's sizes are claims: count what comes out */
      ok = job_fail(j, "ZIP_TOO_BIG", "the archive unpacks to more than max_bytes", 0);
      break;
    }
    if (done > size) {
      ok = job_fail(j, "ZIP_INVALID", "an entry is longer than the archive says", 0);
      break;
    }
    if (write_all(fd, buf, (size_t)got) != 0) {
      ok = job_fail(j, "WRITE_ERROR", strerror(errno), errno);
      break;
    }
  }
  if (zip_fclose(zf) != 0 && ok) ok = job_fail(j, "ZIP_INVALID", "the entry failed its checksum", 0);
  if (close(fd) != 0 && ok) ok = job_fail(j, "WRITE_ERROR", strerror(errno), errno);
  if (ok && done != size) ok = job_fail(j, "ZIP_INVALID", "an entry is shorter than the archive says", 0);
  return ok;
}

/*
 * Checks every entry before writing anything: names, types, encryption, the total size and each
 * entry's compression ratio (what it unpacks to over what it takes in the archive; entries under
 * UNZIP_RATIO_GRACE bytes are exempt, so tiny text files never trip it).
 */
static int check_entries(unzip_job *j, zip_int64_t n, lua_Number max_ratio) {
  zip_int64_t i;
  lua_Number total = 0;
  for (i = 0; i < n; i++) {
    zip_stat_t st;
    const char *why;
    char msg[128];
    if (zip_stat_index(j->za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
      return job_fail(j, "ZIP_INVALID", zip_strerror(j->za), 0);
    j->entry = st.name;
    why = unsafe_name(st.name);
    if (why == NULL) why = unsafe_type(j->za, (zip_uint64_t)i);
    if (why != NULL) {
      snprintf(msg, sizeof msg, "unsafe entry (%s): it could write outside the folder", why);
      return job_fail(j, "ZIP_UNSAFE_ENTRY", msg, 0);
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
      return job_fail(j, "ZIP_ENCRYPTED", "the entry is encrypted", 0);
    if (st.valid & ZIP_STAT_SIZE) total += (lua_Number)st.size;
    if (total > j->max_bytes) return job_fail(j, "ZIP_TOO_BIG", "the archive unpacks to more than max_bytes", 0);
    if ((st.valid & ZIP_STAT_SIZE) && (lua_Number)st.size > UNZIP_RATIO_GRACE) {
      lua_Number comp = (st.valid & ZIP_STAT_COMP_SIZE) ? (lua_Number)st.comp_size : 0;
      if (comp <= 0 || (lua_Number)st.size / comp > max_ratio) {
        snprintf(msg, sizeof msg, "the entry unpacks to more than %.14g times its compressed size (max_ratio)", max_ratio);
        return job_fail(j, "ZIP_RATIO", msg, 0);
      }
    }
  }
  j->entry = NULL;
  return 1;
}

/* Extracts everything; pushes the list of files written (names as in the archive). */
static int extract_all(lua_State *L, unzip_job *j, zip_int64_t n) {
  zip_int64_t i;
  int nfiles = 0;
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    zip_stat_t st;
    size_t len;
    if (zip_stat_index(j->za, (zip_uint64_t)i, 0, &st) != 0) return job_fail(j, "ZIP_INVALID", zip_strerror(j->za), 0);
    j->entry = st.name;
    len = strlen(st.name);
    if (st.name[len - 1] == '/') {
      int fd = open_dirs(j, st.name, len - 1);
      if (fd < 0) return 0;
      close(fd);
      continue;
    }
    if (!extract_file(j, (zip_uint64_t)i, st.name, (st.valid & ZIP_STAT_SIZE) ? st.size : 0)) return 0;
    lua_pushstring(L, st.name);
    lua_rawseti(L, -2, ++nfiles);
  }
  j->entry = NULL;
  return 1;
}

/* Opens the root folder: made fresh, or (overwrite) an existing directory that is not a link. */
static int open_root(unzip_job *j, const char *dir) {
  if (mkdir(dir, 0777) == 0) {
    j->made_root = 1;
  } else if (errno != EEXIST) {
    return job_fail(j, "WRITE_ERROR", strerror(errno), errno);
  } else if (!j->overwrite) {
    return job_fail(j, "EXISTS", "the folder exists (pass overwrite to extract into it)", EEXIST);
  }
  j->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (j->rootfd < 0) {
    int e = errno;
    struct stat lst;
    /* Linux fails a link with O_DIRECTORY | O_NOFOLLOW as ENOTDIR, not ELOOP: ask what it is */
    int islink = e == ELOOP || (e == ENOTDIR && lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode));
    if (j->made_root) (void)rmdir(dir);
    j->made_root = 0;
    return job_fail(j, islink ? "ZIP_UNSAFE_ENTRY" : "WRITE_ERROR",
                    islink ? "the folder is a symbolic link" : strerror(e), e);
  }
  return 1;
}

static lua_Number opt_number(lua_State *L, int t, const char *name, lua_Number dflt) {
  lua_Number v = dflt;
  if (!lua_istable(L, t)) return dflt;
  lua_getfield(L, t, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "unzip option '%s' must be a number", name);
    v = lua_tonumber(L, -1);
    if (!(v >= 0)) luaL_error(L, "unzip option '%s' must be >= 0", name);
  }
  lua_pop(L, 1);
  return v;
}

/*
 * core.unzip(zip_path, dir [, {max_bytes=, max_entries=, max_ratio=, overwrite=}]) -> names | nil, err
 * Extracts every entry of the archive into dir (created; an existing one only with overwrite).
 * Every entry is checked first: a name that is absolute, holds "..", a backslash or a drive
 * letter, a link, a device or an encrypted entry refuses the whole archive before a byte is
 * written; so does a total above max_bytes (default 4 GiB), more than max_entries (default
 * 100000), or an entry over 64 KiB that unpacks to more than max_ratio (default 200) times its
 * compressed size. The archive's sizes are only claims: the bytes written are counted too, and
 * extraction stops at max_bytes. Files are created without following links. On any failure what
 * this call created is removed again. err: {kind="io", code=, message=, entry=}; a path holding
 * a NUL byte: {kind="invalid", code="BAD_PATH"}.
 */
static int core_unzip(lua_State *L) {
  const char *zpath = hy3d_checkpath(L, 1);
  const char *dir = hy3d_checkpath(L, 2);
  lua_Number max_bytes = opt_number(L, 3, "max_bytes", 4294967296.0);
  lua_Number max_entries = opt_number(L, 3, "max_entries", 100000);
  lua_Number max_ratio = opt_number(L, 3, "max_ratio", UNZIP_MAX_RATIO);
  unzip_job j;
  int zerr = 0, ok = 0;
  zip_int64_t n;
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  if (zpath == NULL || dir == NULL) {
    hy3d_push_path_error(L, zpath == NULL ? "zip path" : "folder path");
    return 2;
  }
  memset(&j, 0, sizeof j);
  j.rootfd = -1;
  j.max_bytes = max_bytes;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "overwrite");
    j.overwrite = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  lua_settop(L, 3);
  j.za = zip_open(zpath, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
  if (j.za == NULL) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    job_fail(&j, zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN ? "OPEN_FAILED" : "ZIP_INVALID", zip_error_strerror(&ze), 0);
    zip_error_fini(&ze);
  } else if ((n = zip_get_num_entries(j.za, 0)) < 0 || (lua_Number)n > max_entries) {
    job_fail(&j, "ZIP_TOO_BIG", "the archive has more entries than max_entries", 0);
  } else if (check_entries(&j, n, max_ratio) && open_root(&j, dir)) {
    ok = extract_all(L, &j, n);
    if (!ok) {
      lua_settop(L, 3);
      rollback(&j);
    }
  }
  if (!ok) {
    lua_pushnil(L);
    hy3d_push_error(L, "io", j.code, NULL);
    if (j.entry != NULL) {
      lua_pushfstring(L, "cannot extract %s into %s: entry \"%s\": %s", zpath, dir, j.entry, j.message);
      lua_pushstring(L, j.entry);
      lua_setfield(L, -3, "entry");
    } else {
      lua_pushfstring(L, "cannot extract %s into %s: %s", zpath, dir, j.message);
    }
    lua_setfield(L, -2, "message");
    if (j.err != 0) {
      lua_pushinteger(L, j.err);
      lua_setfield(L, -2, "errno");
    }
  }
  if (j.rootfd >= 0) close(j.rootfd);
  if (!ok && j.made_root) (void)rmdir(dir);
  created_free(&j.made);
  if (j.za != NULL) zip_discard(j.za);            /* read-only: nothing to write back */
  return ok ? 1 : 2;
}

/* The optional permission bits argument at idx (0 to 0777), else dflt; other values raise. */
static mode_t opt_mode(lua_State *L, int idx, mode_t dflt) {
  lua_Integer m;
  if (lua_isnoneornil(L, idx)) return dflt;
  m = luaL_checkinteger(L, idx);
  luaL_argcheck(L, m >= 0 && m <= 0777, idx, "a mode is permission bits, 0 to 0777 (511)");
  return (mode_t)m;
}

/* Pushes nil and {kind="io", code=, message="<what> <path>: <strerror>", errno=}. */
static int push_io_error(lua_State *L, const char *code, const char *what, const char *path, int e) {
  lua_pushnil(L);                                            /* nil */
  lua_pushfstring(L, "%s %s: %s", what, path, strerror(e));  /* nil, message */
  hy3d_push_error(L, "io", code, lua_tostring(L, -1));       /* nil, message, err */
  lua_remove(L, -2);                                         /* nil, err */
  lua_pushinteger(L, e);
  lua_setfield(L, -2, "errno");
  return 2;
}

/*
 * core.mkdir(path [, mode]) -> true | nil, err. One level, created with mode (default 0777; the
 * umask applies); an existing directory is fine and left as it is. err: {kind="io",
 * code="MKDIR_FAILED", message=, errno=}, or {kind="invalid", code="BAD_PATH"} for a NUL byte.
 */
static int core_mkdir(lua_State *L) {
  const char *path = hy3d_checkpath(L, 1);
  mode_t mode = opt_mode(L, 2, 0777);
  struct stat st;
  int e;
  if (path == NULL) {
    hy3d_push_path_error(L, "folder path");
    return 2;
  }
  if (mkdir(path, mode) == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  e = errno;
  if (e == EEXIST && stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      lua_pushboolean(L, 1);
      return 1;
    }
    e = ENOTDIR;
  }
  return push_io_error(L, "MKDIR_FAILED", "cannot create directory", path, e);
}

/*
 * core.append_private(path, data [, mode [, fresh_line]]) -> true | nil, err. Appends data to the
 * file at path, creating it with mode (default 0600: owner only), never through a symbolic link
 * (O_NOFOLLOW) and only to a regular file (a FIFO or device is refused without blocking). An
 * existing file with permission bits beyond mode is narrowed to them (a record an older version
 * made 0644 becomes 0600). With fresh_line, a newline goes first when the file's last byte is not
 * one (a line a crash cut short). err: {kind="io", code="WRITE_ERROR", message=, errno=} or BAD_PATH.
 */
static int core_append_private(lua_State *L) {
  const char *path = hy3d_checkpath(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  mode_t mode = opt_mode(L, 3, 0600);
  int fresh_line = lua_toboolean(L, 4);
  struct stat st;
  char last = '\n';
  int fd, e;
  if (path == NULL) {
    hy3d_push_path_error(L, "file path");
    return 2;
  }
  fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) {
    e = errno;
    return push_io_error(L, "WRITE_ERROR", e == ELOOP ? "refusing a symbolic link at" : "cannot open", path, e);
  }
  if (fstat(fd, &st) != 0) {
    e = errno;
    close(fd);
    return push_io_error(L, "WRITE_ERROR", "cannot stat", path, e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return push_io_error(L, "WRITE_ERROR", "refusing what is not a regular file:", path, EINVAL);
  }
  if ((st.st_mode & 0777 & ~mode) != 0 && fchmod(fd, st.st_mode & mode & 0777) != 0) {
    e = errno;
    close(fd);
    return push_io_error(L, "WRITE_ERROR", "cannot narrow the permissions of", path, e);
  }
  if (fresh_line && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1) last = '\n';
  if ((last != '\n' && write_all(fd, "\n", 1) != 0) || write_all(fd, data, len) != 0) {
    e = errno;
    close(fd);
    return push_io_error(L, "WRITE_ERROR", "cannot write", path, e);
  }
  if (close(fd) != 0) return push_io_error(L, "WRITE_ERROR", "cannot write", path, errno);
  lua_pushboolean(L, 1);
  return 1;
}

/* core.isatty(fd) -> whether the descriptor (0, 1 or 2) is a terminal. */
static int core_isatty(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  lua_pushboolean(L, fd >= 0 && fd <= 1024 && isatty((int)fd));
  return 1;
}

/* ===== a JSON answer in a file, read without loading it (the self-hosted door's model_base64) ===== */

#define JSON_CHUNK 65536

/*
 * core.json_skim(path, limit, max_out) -> text | nil, err. The JSON text of the file with every
 * string longer than `limit` bytes (as written, escapes included) replaced by its length (a JSON
 * number), so an answer carrying megabytes of base64 can be decoded for its small fields. The
 * file is read in chunks; the text is at most max_out bytes (else decode/RESPONSE_TOO_LARGE).
 * Only the string syntax is followed (quotes and backslashes): what is left is for the decoder.
 */
static int core_json_skim(lua_State *L) {
  const char *path = hy3d_checkpath(L, 1);
  lua_Integer limit_arg = luaL_checkinteger(L, 2), max_arg = luaL_checkinteger(L, 3);
  size_t limit, max_out;
  FILE *f;
  hy3d_buf out = {NULL, 0, 0}, str = {NULL, 0, 0};
  char *chunk;
  size_t n, i;
  int in_str = 0, esc = 0, longstr = 0, oom = 0;
  unsigned long long strlen_all = 0;
  luaL_argcheck(L, limit_arg >= 0, 2, "the length limit is >= 0");
  luaL_argcheck(L, max_arg >= 0, 3, "the size limit is >= 0");
  limit = (size_t)limit_arg, max_out = (size_t)max_arg;
  if (path == NULL) {
    hy3d_push_path_error(L, "answer's path");
    return 2;
  }
  f = fopen(path, "rb");
  if (f == NULL) return push_io_error(L, "READ_ERROR", "cannot open", path, errno);
  chunk = (char *)malloc(JSON_CHUNK);
  if (chunk == NULL) {
    fclose(f);
    return luaL_error(L, "hy3d: out of memory");
  }
  while (!oom && out.len <= max_out && (n = fread(chunk, 1, JSON_CHUNK, f)) > 0) {
    for (i = 0; i < n && !oom; i++) {
      char c = chunk[i];
      if (!in_str) {
        if (c == '"') {
          in_str = 1, esc = 0, longstr = 0, strlen_all = 0;
          hy3d_buf_reset(&str);
        } else {
          oom = hy3d_buf_append(&out, &c, 1) != 0;
        }
        continue;
      }
      if (!esc && c == '"') {                    /* the string ends */
        in_str = 0;
        if (longstr) {
          char num[32];
          snprintf(num, sizeof num, "%llu", strlen_all);
          oom = hy3d_buf_append(&out, num, strlen(num)) != 0;
        } else {
          oom = hy3d_buf_append(&out, "\"", 1) != 0 || (str.len > 0 && hy3d_buf_append(&out, str.data, str.len) != 0) ||
                hy3d_buf_append(&out, "\"", 1) != 0;
        }
        continue;
      }
      esc = !esc && c == '\\';
      strlen_all++;
      if (!longstr && strlen_all > limit) {
        longstr = 1;
        hy3d_buf_reset(&str);
      }
      if (!longstr) oom = hy3d_buf_append(&str, &c, 1) != 0;
    }
  }
  free(chunk);
  hy3d_buf_free(&str);
  if (ferror(f)) {
    int e = errno;
    fclose(f);
    hy3d_buf_free(&out);
    return push_io_error(L, "READ_ERROR", "cannot read", path, e);
  }
  fclose(f);
  if (oom) {
    hy3d_buf_free(&out);
    return luaL_error(L, "hy3d: out of memory");
  }
  if (out.len > max_out || in_str) {
    hy3d_buf_free(&out);
    lua_pushnil(L);
    if (in_str) {
      hy3d_push_error(L, "decode", "INVALID_JSON", "the answer ends inside a string");
    } else {
      hy3d_push_error(L, "decode", "RESPONSE_TOO_LARGE", "the answer's fields (long strings aside) are larger than an answer can be");
    }
    return 2;
  }
  lua_pushlstring(L, out.data != NULL ? out.data : "", out.len);
  hy3d_buf_free(&out);
  return 1;
}

/* The state of core.json_b64_field's scan. */
typedef struct b64_scan {
  const char *field;
  size_t flen;
  int depth, in_str, esc, is_key, expect_key, match, after_key;
  size_t kpos;
  int decoding;                   /* inside the field's value: decoding it */
  int done;
  EVP_ENCODE_CTX *ctx;
  FILE *out;
  unsigned char in[4096];
  size_t in_len;
  unsigned char dec[4096];
  unsigned long long written;
  const char *code;               /* the error, when one happened */
  const char *message;
  int err;
} b64_scan;

static int b64_flush(b64_scan *s) {
  int outl = 0;
  if (s->in_len == 0) return 1;
  if (EVP_DecodeUpdate(s->ctx, s->dec, &outl, s->in, (int)s->in_len) < 0) {
    s->code = "BAD_BASE64", s->message = "the model is not valid base64";
    return 0;
  }
  s->in_len = 0;
  if (outl > 0 && fwrite(s->dec, 1, (size_t)outl, s->out) != (size_t)outl) {
    s->code = "WRITE_ERROR", s->err = errno != 0 ? errno : EIO;
    return 0;
  }
  s->written += (unsigned long long)outl;
  return 1;
}

/* One character of the field's value; 0 on an error. */
static int b64_char(b64_scan *s, char c) {
  if (s->esc) {
    s->esc = 0;
    if (c == 'n' || c == 'r' || c == 't') return 1;            /* whitespace inside the value */
    if (c != '/') {                                            /* \/ is '/', which falls through */
      s->code = "BAD_BASE64", s->message = "the model's base64 holds a JSON escape other than \\/ or whitespace";
      return 0;
    }
  } else if (c == '\\') {
    s->esc = 1;
    return 1;
  } else if (c == '"') {
    int outl = 0;
    if (!b64_flush(s)) return 0;
    EVP_DecodeFinal(s->ctx, s->dec, &outl);
    if (outl > 0 && fwrite(s->dec, 1, (size_t)outl, s->out) != (size_t)outl) {
      s->code = "WRITE_ERROR", s->err = errno != 0 ? errno : EIO;
      return 0;
    }
    s->written += (unsigned long long)outl;
    s->done = 1;
    return 1;
  }
  if (c == ' ' || c == '\n' || c == '\r' || c == '\t') return 1;
  s->in[s->in_len++] = (unsigned char)c;
  return s->in_len < sizeof s->in || b64_flush(s);
}

/* One character of the answer outside the field's value; 0 on an error. */
static int scan_char(b64_scan *s, char c) {
  int ws = c == ' ' || c == '\n' || c == '\r' || c == '\t';
  if (s->in_str) {
    if (s->esc) {
      s->esc = 0;
      s->match = 0;                               /* an escaped key is never the plain field name */
    } else if (c == '\\') {
      s->esc = 1;
    } else if (c == '"') {
      s->in_str = 0;
      if (s->is_key && s->match && s->kpos == s->flen) s->after_key = 1;
    } else if (s->is_key && s->match) {
      if (s->kpos < s->flen && s->field[s->kpos] == c) s->kpos++;
      else s->match = 0;
    }
    return 1;
  }
  if (s->after_key == 1) {                        /* "field" seen: then ':' */
    if (ws) return 1;
    if (c == ':') {
      s->after_key = 2;
      return 1;
    }
    s->after_key = 0;
  } else if (s->after_key == 2) {                 /* "field": then its string */
    if (ws) return 1;
    if (c == '"') {
      s->decoding = 1, s->esc = 0;
      return 1;
    }
    s->code = "BAD_MODEL_FIELD", s->message = "the model field is not a string";
    return 0;
  }
  if (ws) return 1;
  if (c == '"') {
    s->in_str = 1, s->esc = 0;
    s->is_key = s->depth == 1 && s->expect_key;
    s->match = 1, s->kpos = 0;
    s->expect_key = 0;
    return 1;
  }
  s->expect_key = 0;
  if (c == '{' || c == '[') {
    s->depth++;
    s->expect_key = c == '{' && s->depth == 1;
  } else if (c == '}' || c == ']') {
    s->depth--;
  } else if (c == ',' && s->depth == 1) {
    s->expect_key = 1;
  }
  return 1;
}

/*
 * core.json_b64_field(src, field, dst) -> bytes | nil, err. Finds the string value of the
 * top-level `field` of the JSON object in the file src and decodes it as base64 into the file dst
 * (created or truncated), streaming through libcrypto's EVP_Decode*: neither the text nor the
 * bytes are ever whole in memory. err: decode/NO_MODEL_FIELD (no such field), BAD_MODEL_FIELD (not
 * a string), BAD_BASE64, INVALID_JSON (the value never ends), or io errors. On an error dst may
 * hold a part: the caller removes it.
 */
static int core_json_b64_field(lua_State *L) {
  const char *src = hy3d_checkpath(L, 1), *dst;
  b64_scan s;
  char *chunk;
  size_t n, i;
  FILE *f;
  memset(&s, 0, sizeof s);
  s.field = luaL_checklstring(L, 2, &s.flen);
  dst = hy3d_checkpath(L, 3);
  if (src == NULL || dst == NULL) {
    hy3d_push_path_error(L, src == NULL ? "answer's path" : "model's path");
    return 2;
  }
  f = fopen(src, "rb");
  if (f == NULL) return push_io_error(L, "READ_ERROR", "cannot open", src, errno);
  s.out = fopen(dst, "wb");
  if (s.out == NULL) {
    int e = errno;
    fclose(f);
    return push_io_error(L, "WRITE_ERROR", "cannot create", dst, e);
  }
  s.ctx = EVP_ENCODE_CTX_new();
  chunk = (char *)malloc(JSON_CHUNK);
  if (s.ctx == NULL || chunk == NULL) {
    EVP_ENCODE_CTX_free(s.ctx);
    free(chunk);
    fclose(f);
    fclose(s.out);
    return luaL_error(L, "hy3d: out of memory");
  }
  EVP_DecodeInit(s.ctx);
  while (!s.done && s.code == NULL && (n = fread(chunk, 1, JSON_CHUNK, f)) > 0) {
    for (i = 0; i < n && !s.done && s.code == NULL; i++) {
      if (s.decoding) b64_char(&s, chunk[i]);
      else scan_char(&s, chunk[i]);
    }
  }
  free(chunk);
  EVP_ENCODE_CTX_free(s.ctx);
  if (s.code == NULL && ferror(f)) s.code = "READ_ERROR", s.err = errno != 0 ? errno : EIO;
  fclose(f);
  if (fclose(s.out) != 0 && s.code == NULL) s.code = "WRITE_ERROR", s.err = errno != 0 ? errno : EIO;
  if (s.code == NULL && !s.done) {
    s.code = s.decoding ? "INVALID_JSON" : "NO_MODEL_FIELD";
    s.message = s.decoding ? "the answer ends inside the model's base64" : "the answer has no such model field";
  }
  if (s.code != NULL) {
    if (s.err != 0) return push_io_error(L, s.code, s.code[0] == 'R' ? "cannot read" : "cannot write",
                                         s.code[0] == 'R' ? src : dst, s.err);
    lua_pushnil(L);
    hy3d_push_error(L, "decode", s.code, s.message);
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)s.written);
  return 1;
}

const luaL_Reg hy3d_files_funcs[] = {
  {"unzip", core_unzip},
  {"mkdir", core_mkdir},
  {"append_private", core_append_private},
  {"isatty", core_isatty},
  {"json_skim", core_json_skim},
  {"json_b64_field", core_json_b64_field},
  {NULL, NULL}
};
