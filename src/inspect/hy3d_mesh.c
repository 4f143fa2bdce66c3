/* hy3d_mesh.c — hy3d.mesh, the optional mesh reader behind hy3d.inspect: Open Asset Import Library (assimp, C API) reads GLB/glTF, OBJ, STL and FBX through a bounded, read-only file system of its own (a folder or a zip, libzip), and the scene is summed up as Lua values. Not part of hy3d.core: built only where libassimp is installed. */
#define _POSIX_C_SOURCE 200809L
#include <assimp/cfileio.h>
#include <assimp/cimport.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>
#include <assimp/version.h>
#include <lauxlib.h>
#include <lua.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "../hy3d_compat.h"

#define MESH_MAX_OPENS 64            /* files one import may open (the model, its MTL, ...) */
#define MESH_MAX_DEPTH 256           /* node levels walked for the bounding box */
#define MESH_HEAD_BYTES (1024 * 1024) /* bytes of a texture handed back for its image header */
#define MESH_MAX_NAME 4096

/* ===== a bounded, read-only file system for assimp: one folder, or one zip ===== */

typedef struct memfile {
  char *data;
  size_t size, pos;
} memfile;

typedef struct mesh_fs {
  zip_t *za;                        /* zip mode when not NULL */
  char base[MESH_MAX_NAME];         /* folder mode: the model's folder with its '/', or "" */
  size_t baselen;
  size_t budget;                    /* bytes every open together may still read */
  int opens;
  const char *why;                  /* why the last open was refused (for the error) */
} mesh_fs;

/* A name relative to the model's folder (or zip root): no absolute path, no '..' part. NULL: refused. */
static const char *relative_name(mesh_fs *fs, const char *name) {
  const char *p;
  size_t len = strlen(name);
  if (len == 0 || len >= MESH_MAX_NAME) return NULL;
  if (fs->baselen > 0 && strncmp(name, fs->base, fs->baselen) == 0) name += fs->baselen;
  else if (fs->baselen > 0 && fs->base[0] == '/') return NULL;    /* another absolute folder */
  while (name[0] == '.' && (name[1] == '/' || name[1] == '\\')) name += 2;
  if (name[0] == '/' || name[0] == '\\' || name[0] == '\0') return NULL;
  for (p = name; *p; ) {
    const char *end = p + strcspn(p, "/\\");
    if (end - p == 2 && p[0] == '.' && p[1] == '.') return NULL;
    p = *end ? end + 1 : end;
  }
  return name;
}

static size_t mf_read(struct aiFile *f, char *buf, size_t size, size_t count) {
  memfile *m = (memfile *)f->UserData;
  size_t want, left = m->size - m->pos;
  if (size == 0 || count == 0) return 0;
  if (count > left / size) count = left / size;
  want = size * count;
  memcpy(buf, m->data + m->pos, want);
  m->pos += want;
  return count;
}

static size_t mf_write(struct aiFile *f, const char *buf, size_t size, size_t count) {
  (void)f; (void)buf; (void)size; (void)count;
  return 0;                                   /* read-only */
}

static size_t mf_tell(struct aiFile *f) { return ((memfile *)f->UserData)->pos; }
static size_t mf_size(struct aiFile *f) { return ((memfile *)f->UserData)->size; }
static void mf_flush(struct aiFile *f) { (void)f; }

static enum aiReturn mf_seek(struct aiFile *f, size_t off, enum aiOrigin origin) {
  memfile *m = (memfile *)f->UserData;
  size_t to;
  if (origin == aiOrigin_SET) to = off;
  else if (origin == aiOrigin_CUR) { if (off > m->size - m->pos) return aiReturn_FAILURE; to = m->pos + off; }
  else if (origin == aiOrigin_END) { if (off > m->size) return aiReturn_FAILURE; to = m->size - off; }
  else return aiReturn_FAILURE;
  if (to > m->size) return aiReturn_FAILURE;
  m->pos = to;
  return aiReturn_SUCCESS;
}

/* Reads a file of the folder or an entry of the zip whole, within the budget. NULL: refused (fs->why). */
static char *fs_load(mesh_fs *fs, const char *name, size_t *size) {
  char *data;
  if (fs->za != NULL) {
    zip_stat_t st;
    zip_file_t *zf;
    zip_int64_t idx = zip_name_locate(fs->za, name, ZIP_FL_ENC_GUESS);
    zip_uint64_t done = 0;
    if (idx < 0 || zip_stat_index(fs->za, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) return NULL;
    if (st.size > fs->budget) { fs->why = "the files together are over max_bytes"; return NULL; }
    data = (char *)malloc(st.size ? (size_t)st.size : 1);
    if (data == NULL) { fs->why = "out of memory"; return NULL; }
    zf = zip_fopen_index(fs->za, (zip_uint64_t)idx, 0);
    if (zf == NULL) { free(data); fs->why = "an unreadable zip entry"; return NULL; }
    while (done < st.size) {
      zip_int64_t got = zip_fread(zf, data + done, st.size - done);
      if (got <= 0) break;
      done += (zip_uint64_t)got;
    }
    if (zip_fclose(zf) != 0 || done != st.size) { free(data); fs->why = "a damaged zip entry"; return NULL; }
    *size = (size_t)st.size;
  } else {
    char path[2 * MESH_MAX_NAME];
    struct stat st;
    FILE *f;
    int fd;
    snprintf(path, sizeof path, "%s%s", fs->base, name);
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);      /* a FIFO named by the model must not block */
    if (fd < 0) return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "rb")) == NULL) { close(fd); return NULL; }
    if ((unsigned long long)st.st_size > fs->budget) {
      fclose(f);
      fs->why = "the files together are over max_bytes";
      return NULL;
    }
    data = (char *)malloc(st.st_size ? (size_t)st.st_size : 1);
    if (data == NULL) { fclose(f); fs->why = "out of memory"; return NULL; }
    if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) { fclose(f); free(data); return NULL; }
    fclose(f);
    *size = (size_t)st.st_size;
  }
  fs->budget -= *size;
  return data;
}

static struct aiFile *fs_open(struct aiFileIO *io, const char *name, const char *mode) {
  mesh_fs *fs = (mesh_fs *)io->UserData;
  const char *rel;
  struct aiFile *f;
  memfile *m;
  size_t size = 0;
  char *data;
  if (mode == NULL || strchr(mode, 'w') != NULL || strchr(mode, 'a') != NULL || strchr(mode, '+') != NULL) return NULL;
  if (++fs->opens > MESH_MAX_OPENS) { fs->why = "the model opens too many files"; return NULL; }
  rel = relative_name(fs, name);
  if (rel == NULL) return NULL;                         /* outside the folder: as if absent */
  data = fs_load(fs, rel, &size);
  if (data == NULL) return NULL;
  f = (struct aiFile *)calloc(1, sizeof *f);
  m = (memfile *)calloc(1, sizeof *m);
  if (f == NULL || m == NULL) { free(f); free(m); free(data); fs->why = "out of memory"; return NULL; }
  m->data = data;
  m->size = size;
  f->ReadProc = mf_read;
  f->WriteProc = mf_write;
  f->TellProc = mf_tell;
  f->FileSizeProc = mf_size;
  f->SeekProc = mf_seek;
  f->FlushProc = mf_flush;
  f->UserData = (aiUserData)m;
  return f;
}

static void fs_close(struct aiFileIO *io, struct aiFile *f) {
  (void)io;
  if (f == NULL) return;
  free(((memfile *)f->UserData)->data);
  free(f->UserData);
  free(f);
}

/* ===== the scene as Lua values ===== */

typedef struct bounds {
  double lo[3], hi[3];
  int any;
} bounds;

static void grow(bounds *b, const struct aiMesh *m, const struct aiMatrix4x4 *t) {
  unsigned i;
  int k;
  if (m->mVertices == NULL) return;
  for (i = 0; i < m->mNumVertices; i++) {
    const struct aiVector3D *v = &m->mVertices[i];
    double p[3];
    p[0] = t->a1 * v->x + t->a2 * v->y + t->a3 * v->z + t->a4;
    p[1] = t->b1 * v->x + t->b2 * v->y + t->b3 * v->z + t->b4;
    p[2] = t->c1 * v->x + t->c2 * v->y + t->c3 * v->z + t->c4;
    for (k = 0; k < 3; k++) {
      if (p[k] != p[k]) continue;                        /* NaN */
      if (!b->any || p[k] < b->lo[k]) b->lo[k] = p[k];
      if (!b->any || p[k] > b->hi[k]) b->hi[k] = p[k];
    }
    b->any = 1;
  }
}

static void walk(const struct aiScene *s, const struct aiNode *n, const struct aiMatrix4x4 *parent, bounds *b,
                 unsigned char *seen, int depth) {
  struct aiMatrix4x4 t = *parent, own = n->mTransformation;
  unsigned i;
  aiMultiplyMatrix4(&t, &own);                           /* t = parent * own */
  for (i = 0; i < n->mNumMeshes; i++) {
    unsigned mi = n->mMeshes[i];
    if (mi < s->mNumMeshes) { grow(b, s->mMeshes[mi], &t); seen[mi] = 1; }
  }
  if (depth >= MESH_MAX_DEPTH) return;
  for (i = 0; i < n->mNumChildren; i++) walk(s, n->mChildren[i], &t, b, seen, depth + 1);
}

static void push_vec(lua_State *L, const double v[3]) {
  int k;
  lua_createtable(L, 3, 0);
  for (k = 0; k < 3; k++) {
    lua_pushnumber(L, v[k]);
    lua_rawseti(L, -2, k + 1);
  }
}

static void push_aistring(lua_State *L, const struct aiString *s) {
  size_t len = s->length < MAXLEN ? s->length : MAXLEN - 1;
  lua_pushlstring(L, s->data, len);
}

/* The texture kinds worth naming, with the names they get. */
static const struct { enum aiTextureType type; const char *name; } TEXTURE_TYPES[] = {
  {aiTextureType_DIFFUSE, "diffuse"}, {aiTextureType_BASE_COLOR, "base_color"}, {aiTextureType_NORMALS, "normal"},
  {aiTextureType_NORMAL_CAMERA, "normal"}, {aiTextureType_METALNESS, "metalness"},
  {aiTextureType_DIFFUSE_ROUGHNESS, "roughness"}, {aiTextureType_UNKNOWN, "metallic_roughness"},
  {aiTextureType_EMISSIVE, "emissive"}, {aiTextureType_EMISSION_COLOR, "emissive"},
  {aiTextureType_LIGHTMAP, "occlusion"}, {aiTextureType_AMBIENT_OCCLUSION, "occlusion"},
  {aiTextureType_SPECULAR, "specular"}, {aiTextureType_OPACITY, "opacity"}, {aiTextureType_HEIGHT, "height"},
};

/* The 1-based index of the embedded texture a material names by its file name, or 0. */
static unsigned embedded_named(const struct aiScene *s, const char *path) {
  unsigned e;
  for (e = 0; e < s->mNumTextures; e++) {
    const struct aiString *n = &s->mTextures[e]->mFilename;
    if (n->length > 0 && n->length < MAXLEN && strcmp(n->data, path) == 0) return e + 1;
  }
  return 0;
}

/* An external texture's first bytes (for its image header), read through the same bounded file system. */
static void push_head(lua_State *L, struct aiFileIO *io, const char *path) {
  struct aiFile *f = fs_open(io, path, "rb");
  if (f == NULL) return;
  {
    memfile *m = (memfile *)f->UserData;
    lua_pushlstring(L, m->data, m->size < MESH_HEAD_BYTES ? m->size : MESH_HEAD_BYTES);
    lua_setfield(L, -2, "head");
  }
  fs_close(io, f);
}

static void push_materials(lua_State *L, const struct aiScene *s, struct aiFileIO *io) {
  unsigned i, t, k;
  int listed = 0;
  lua_createtable(L, (int)s->mNumMaterials, 0);
  for (i = 0; i < s->mNumMaterials; i++) {
    const struct aiMaterial *mat = s->mMaterials[i];
    struct aiString name;
    int n = 0;
    unsigned m;
    for (m = 0; m < s->mNumMeshes && s->mMeshes[m]->mMaterialIndex != i; m++) {}
    if (m == s->mNumMeshes) continue;                   /* a material no mesh uses (assimp's default) */
    lua_newtable(L);
    if (aiGetMaterialString(mat, AI_MATKEY_NAME, &name) == aiReturn_SUCCESS) {
      push_aistring(L, &name);
      lua_setfield(L, -2, "name");
    }
    lua_newtable(L);                                    /* textures */
    for (t = 0; t < sizeof TEXTURE_TYPES / sizeof TEXTURE_TYPES[0]; t++) {
      unsigned count = aiGetMaterialTextureCount(mat, TEXTURE_TYPES[t].type);
      for (k = 0; k < count && k < 16; k++) {
        struct aiString path;
        if (aiGetMaterialTexture(mat, TEXTURE_TYPES[t].type, k, &path, NULL, NULL, NULL, NULL, NULL, NULL)
            != aiReturn_SUCCESS) continue;
        lua_newtable(L);
        lua_pushstring(L, TEXTURE_TYPES[t].name);
        lua_setfield(L, -2, "type");
        push_aistring(L, &path);
        lua_setfield(L, -2, "path");
        if (path.data[0] == '*') {
          char *end;
          unsigned long e = strtoul(path.data + 1, &end, 10);
          if (end != path.data + 1 && *end == '\0' && e < s->mNumTextures) {
            lua_pushinteger(L, (lua_Integer)e + 1);
            lua_setfield(L, -2, "embedded");
          }
        } else if (embedded_named(s, path.data) > 0) {
          lua_pushinteger(L, (lua_Integer)embedded_named(s, path.data));
          lua_setfield(L, -2, "embedded");
        } else {
          push_head(L, io, path.data);
        }
        lua_rawseti(L, -2, ++n);
      }
    }
    lua_setfield(L, -2, "textures");
    lua_rawseti(L, -2, ++listed);
  }
  lua_setfield(L, -2, "materials");
}

static void push_textures(lua_State *L, const struct aiScene *s) {
  unsigned i;
  lua_createtable(L, (int)s->mNumTextures, 0);
  for (i = 0; i < s->mNumTextures; i++) {
    const struct aiTexture *t = s->mTextures[i];
    lua_newtable(L);
    if (t->mHeight == 0) {                              /* compressed: mWidth bytes at pcData */
      size_t n = t->mWidth;
      lua_pushinteger(L, (lua_Integer)n);
      lua_setfield(L, -2, "bytes");
      if (t->pcData != NULL) {
        lua_pushlstring(L, (const char *)t->pcData, n < MESH_HEAD_BYTES ? n : MESH_HEAD_BYTES);
        lua_setfield(L, -2, "head");
      }
      lua_pushlstring(L, t->achFormatHint, strnlen(t->achFormatHint, sizeof t->achFormatHint));
      lua_setfield(L, -2, "hint");
    } else {                                            /* raw texels */
      lua_pushinteger(L, (lua_Integer)t->mWidth);
      lua_setfield(L, -2, "width");
      lua_pushinteger(L, (lua_Integer)t->mHeight);
      lua_setfield(L, -2, "height");
      lua_pushstring(L, "raw");
      lua_setfield(L, -2, "format");
    }
    if (t->mFilename.length > 0) {
      push_aistring(L, &t->mFilename);
      lua_setfield(L, -2, "name");
    }
    lua_rawseti(L, -2, (int)i + 1);
  }
  lua_setfield(L, -2, "textures");
}

static void push_scene(lua_State *L, const struct aiScene *s, struct aiFileIO *io) {
  double vertices = 0, faces = 0, triangles = 0;
  unsigned i, f;
  bounds b;
  unsigned char *seen = (unsigned char *)calloc(s->mNumMeshes + 1, 1);
  struct aiMatrix4x4 id;
  memset(&b, 0, sizeof b);
  aiIdentityMatrix4(&id);
  if (seen != NULL && s->mRootNode != NULL) walk(s, s->mRootNode, &id, &b, seen, 0);
  for (i = 0; i < s->mNumMeshes; i++) {
    const struct aiMesh *m = s->mMeshes[i];
    vertices += m->mNumVertices;
    faces += m->mNumFaces;
    for (f = 0; f < m->mNumFaces; f++) {
      unsigned n = m->mFaces[f].mNumIndices;
      if (n >= 3) triangles += n - 2;
    }
    if (seen != NULL && !seen[i]) grow(&b, m, &id);      /* a mesh no node places */
  }
  free(seen);
  lua_newtable(L);
  lua_pushnumber(L, vertices);
  lua_setfield(L, -2, "vertices");
  lua_pushnumber(L, faces);
  lua_setfield(L, -2, "faces");
  lua_pushnumber(L, triangles);
  lua_setfield(L, -2, "triangles");
  lua_pushinteger(L, (lua_Integer)s->mNumMeshes);
  lua_setfield(L, -2, "meshes");
  lua_pushinteger(L, (lua_Integer)s->mNumAnimations);
  lua_setfield(L, -2, "animations");
  lua_pushboolean(L, (s->mFlags & AI_SCENE_FLAGS_INCOMPLETE) != 0);
  lua_setfield(L, -2, "incomplete");
  {
    unsigned bones = 0;
    for (i = 0; i < s->mNumMeshes; i++) bones += s->mMeshes[i]->mNumBones;
    lua_pushinteger(L, (lua_Integer)bones);
    lua_setfield(L, -2, "bones");
  }
  if (b.any) {
    lua_newtable(L);
    push_vec(L, b.lo);
    lua_setfield(L, -2, "min");
    push_vec(L, b.hi);
    lua_setfield(L, -2, "max");
    lua_setfield(L, -2, "bbox");
  }
  push_materials(L, s, io);
  push_textures(L, s);
}

/* The zip's first entry whose name ends in a model extension, the zip's entries in `files`. */
static const char *zip_model(lua_State *L, zip_t *za) {
  static const char *const EXT[] = {".obj", ".glb", ".gltf", ".fbx", ".stl", NULL};
  zip_int64_t i, n = zip_get_num_entries(za, 0);
  const char *found = NULL;
  int k;
  lua_newtable(L);
  for (i = 0; i < n && i < 4096; i++) {
    const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_GUESS);
    size_t len;
    if (name == NULL) continue;
    len = strlen(name);
    lua_pushstring(L, name);
    lua_rawseti(L, -2, (int)i + 1);
    for (k = 0; found == NULL && EXT[k] != NULL; k++) {
      size_t el = strlen(EXT[k]);
      if (len > el && strncasecmp(name + len - el, EXT[k], el) == 0) found = name;
    }
  }
  return found;
}

static int fail(lua_State *L, const char *code, const char *message) {
  lua_pushnil(L);
  lua_pushstring(L, code);
  lua_pushstring(L, message);
  return 3;
}

/*
 * mesh.read(path, max_bytes [, zip]) -> summary | nil, code, message
 * Reads the model at path (a zip of one when zip is true: its first .obj/.glb/.gltf/.fbx/.stl entry)
 * with assimp. Every file the import opens is read whole through this module's file system: only
 * under the model's folder (or inside the zip), never written, at most max_bytes together.
 */
static int mesh_read(lua_State *L) {
  size_t plen;
  const char *path = luaL_checklstring(L, 1, &plen);
  lua_Number max_bytes = luaL_checknumber(L, 2);
  int zipped = lua_toboolean(L, 3);
  mesh_fs fs;
  struct aiFileIO io;
  const struct aiScene *scene;
  const char *entry = NULL, *slash;
  int files_at = 0;
  if (strlen(path) != plen || plen == 0 || plen >= MESH_MAX_NAME) return fail(L, "BAD_PATH", "not a usable path");
  memset(&fs, 0, sizeof fs);
  fs.budget = max_bytes > 0 && max_bytes < (lua_Number)((size_t)-1 / 2) ? (size_t)max_bytes : 0;
  io.OpenProc = fs_open;
  io.CloseProc = fs_close;
  io.UserData = (aiUserData)&fs;
  if (zipped) {
    int zerr = 0;
    fs.za = zip_open(path, ZIP_RDONLY, &zerr);
    if (fs.za == NULL) return fail(L, "BAD_MODEL", "not a readable zip");
    entry = zip_model(L, fs.za);
    files_at = lua_gettop(L);
    if (entry == NULL) {
      zip_discard(fs.za);
      return fail(L, "BAD_MODEL", "the zip holds no .obj, .glb, .gltf, .fbx or .stl file");
    }
    slash = strrchr(entry, '/');
    if (slash != NULL && (size_t)(slash - entry) + 1 < sizeof fs.base) {     /* the model's folder in the zip */
      fs.baselen = (size_t)(slash - entry) + 1;
      memcpy(fs.base, entry, fs.baselen);
    }
    scene = aiImportFileEx(entry, aiProcess_ValidateDataStructure | aiProcess_JoinIdenticalVertices, &io);
  } else {
    slash = strrchr(path, '/');
    if (slash != NULL) {
      fs.baselen = (size_t)(slash - path) + 1;
      memcpy(fs.base, path, fs.baselen);
    }
    scene = aiImportFileEx(path, aiProcess_ValidateDataStructure | aiProcess_JoinIdenticalVertices, &io);
  }
  if (scene == NULL) {
    const char *why = fs.why != NULL ? fs.why : aiGetErrorString();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", why != NULL && why[0] ? why : "assimp could not read it");
    if (fs.za != NULL) zip_discard(fs.za);
    return fail(L, fs.why != NULL && strstr(fs.why, "max_bytes") ? "TOO_LARGE" : "BAD_MODEL", msg);
  }
  push_scene(L, scene, &io);
  aiReleaseImport(scene);
  if (fs.za != NULL) {
    lua_pushstring(L, entry);                            /* entry points into the zip: copy before discarding */
    lua_setfield(L, -2, "entry");
    lua_pushvalue(L, files_at);
    lua_setfield(L, -2, "files");
    zip_discard(fs.za);
  }
  return 1;
}

static const luaL_Reg mesh_funcs[] = {
  {"read", mesh_read},
  {NULL, NULL}
};

int luaopen_hy3d_mesh(lua_State *L);
__attribute__((visibility("default"))) int luaopen_hy3d_mesh(lua_State *L) {
  char version[64];
  lua_newtable(L);
  hy3d_setfuncs(L, mesh_funcs, 0);
  snprintf(version, sizeof version, "assimp %u.%u.%u", aiGetVersionMajor(), aiGetVersionMinor(),
           aiGetVersionRevision());
  lua_pushstring(L, version);
  lua_setfield(L, -2, "parser");
  return 1;
}
