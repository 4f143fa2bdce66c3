/* threads.c — hy3d from several OS threads, each with its own lua_State (spec/threads/threads_spec.lua).
 *
 *   cc -std=c99 -O2 -Wall -Wextra -I/usr/include/lua5.4 spec/threads/threads.c -o build/threads \
 *      -llua5.4 -lpthread
 *   HY3D_BASE_URL=... HY3D_API_KEY=... HY3D_OUT=dir build/threads [count]
 *
 * The main thread loads hy3d.core first, in a state of its own that stays open until the end
 * (curl_global_init runs once per process, when hy3d.core is first loaded; see
 * doc/development.md's thread-safety note). Then it starts `count` threads (default 2). Each opens a fresh lua_State,
 * prepends HY3D_LUA_PATH / HY3D_CPATH to package.path / package.cpath, waits at a barrier so all
 * go at once, and runs one job end to end: require "hy3d", a client from HY3D_BASE_URL /
 * HY3D_API_KEY, submit, wait (interval 0.05), download the GLB to $HY3D_OUT/thread-N.glb. Each
 * prints "thread N: DONE <JobId> <bytes>" (or "thread N: FAILED <error>" on stderr); then the
 * main thread prints "threads: <ok>/<count> ok, overlap <seconds> s" (how long every thread was
 * working at once) and exits 0 only if every thread succeeded.
 *
 * HY3D_THREADS_NO_PRELOAD=1 breaks that rule on purpose: the main thread does not load hy3d.core,
 * so the threads' first loads race on its one-time initialisation. `make test-tsan` runs it once
 * to show ThreadSanitizer sees into the core (it must report that race); never set it otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#define MAX_THREADS 16

static const char CHUNK[] =
  "local n, out = ...\n"
  "local hy3d = require 'hy3d'\n"
  "local client = hy3d.new { api_key = os.getenv('HY3D_API_KEY'), base_url = os.getenv('HY3D_BASE_URL') }\n"
  "local job = assert(client:submit { Prompt = 'a barrel from thread ' .. n, FaceCount = 3000 })\n"
  "local result = assert(client:wait(job, { interval = 0.05, timeout = 120 }))\n"
  "local glb\n"
  "for _, f in ipairs(result.ResultFile3Ds) do\n"
  "  if f.Type == 'GLB' then glb = f end\n"
  "end\n"
  "assert(glb, 'job ' .. job.JobId .. ' has no GLB file')\n"
  "local _, bytes = assert(client:download(glb.Url, out))\n"
  "client:close()\n"
  "return job.JobId, bytes\n";

struct worker {
  int n;
  pthread_t tid;
  char out[4096];
  int ok;
  char job[64];
  long long bytes;
  char err[1024];
  double started, ended;
};

static pthread_barrier_t start_line;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* package.<field> = $env .. ";" .. package.<field>, when $env is set. */
static void prepend_path(lua_State *L, const char *field, const char *env) {
  const char *v = getenv(env);
  if (v == NULL || *v == '\0') return;
  lua_getglobal(L, "package");
  lua_getfield(L, -1, field);
  lua_pushfstring(L, "%s;%s", v, lua_tostring(L, -1));
  lua_setfield(L, -3, field);
  lua_pop(L, 2);
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static lua_State *new_state(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return NULL;
  luaL_openlibs(L);
  prepend_path(L, "path", "HY3D_LUA_PATH");
  prepend_path(L, "cpath", "HY3D_CPATH");
  return L;
}

static void *run_worker(void *arg) {
  struct worker *w = arg;
  lua_State *L = new_state();
  pthread_barrier_wait(&start_line);   /* every thread waits here, whatever happens next */
  w->started = now();
  if (L == NULL) {
    snprintf(w->err, sizeof w->err, "cannot create a lua_State");
    w->ended = now();
    return NULL;
  }
  lua_pushcfunction(L, traceback);
  int handler = lua_gettop(L);
  if (luaL_loadbuffer(L, CHUNK, sizeof CHUNK - 1, "=thread") != LUA_OK) {
    snprintf(w->err, sizeof w->err, "%s", lua_tostring(L, -1));
  } else {
    lua_pushinteger(L, w->n);
    lua_pushstring(L, w->out);
    if (lua_pcall(L, 2, 2, handler) != LUA_OK) {
      snprintf(w->err, sizeof w->err, "%s", lua_tostring(L, -1));
    } else {
      const char *job = lua_tostring(L, -2);
      snprintf(w->job, sizeof w->job, "%s", job ? job : "?");
      w->bytes = (long long)lua_tonumber(L, -1);
      w->ok = job != NULL && w->bytes > 0;
      if (!w->ok) snprintf(w->err, sizeof w->err, "no JobId or an empty download");
    }
  }
  lua_close(L);                        /* closes the client's engine and frees everything */
  w->ended = now();
  return NULL;
}

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 2;
  if (count < 1 || count > MAX_THREADS) {
    fprintf(stderr, "usage: %s [count 1..%d]\n", argv[0], MAX_THREADS);
    return 2;
  }
  const char *dir = getenv("HY3D_OUT");
  if (dir == NULL || *dir == '\0') dir = ".";

  /* hy3d.core first, in this thread: curl_global_init must not race between the threads. */
  lua_State *L = new_state();
  if (L == NULL) {
    fprintf(stderr, "threads: cannot create a lua_State\n");
    return 1;
  }
  if (getenv("HY3D_THREADS_NO_PRELOAD") == NULL) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "hy3d.core");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      fprintf(stderr, "threads: cannot load hy3d.core: %s\n", lua_tostring(L, -1));
      lua_close(L);
      return 1;
    }
    lua_pop(L, 1);
  }

  static struct worker workers[MAX_THREADS];
  int started = 0;
  if (pthread_barrier_init(&start_line, NULL, (unsigned)count) != 0) {
    fprintf(stderr, "threads: pthread_barrier_init failed\n");
    lua_close(L);
    return 1;
  }
  for (int i = 0; i < count; i++) {
    struct worker *w = &workers[i];
    w->n = i + 1;
    snprintf(w->out, sizeof w->out, "%s/thread-%d.glb", dir, w->n);
    if (pthread_create(&w->tid, NULL, run_worker, w) != 0) {
      fprintf(stderr, "threads: pthread_create failed for thread %d\n", w->n);
      break;   /* the barrier would never open: the started threads cannot be joined */
    }
    started++;
  }
  if (started < count) {
    lua_close(L);
    _exit(1);
  }

  int ok = 0;
  double first_end = 0, last_start = 0;
  for (int i = 0; i < count; i++) {
    struct worker *w = &workers[i];
    pthread_join(w->tid, NULL);
    if (w->ok) {
      printf("thread %d: DONE %s %lld\n", w->n, w->job, w->bytes);
      ok++;
    } else {
      fprintf(stderr, "thread %d: FAILED %s\n", w->n, w->err);
    }
    if (i == 0 || w->ended < first_end) first_end = w->ended;
    if (i == 0 || w->started > last_start) last_start = w->started;
  }
  double overlap = first_end - last_start;
  printf("threads: %d/%d ok, overlap %.3f s\n", ok, count, overlap > 0 ? overlap : 0.0);
  pthread_barrier_destroy(&start_line);
  lua_close(L);                        /* last: hy3d.core stays loaded while any thread runs */
  return ok == count ? 0 : 1;
}
