/*
 * bench/overhead/rusage.c — runs a command and reports what it cost, measured from outside:
 * wait4() of the child gives user and system CPU (microseconds) and peak RSS (the largest over the
 * child and every descendant it waited for). GNU time reports the same in 10 ms steps.
 *
 * Usage: rusage FILE COMMAND [ARGS...]   The command's stdout and stderr pass through; FILE gets
 * {"wall_s":..,"user_s":..,"sys_s":..,"maxrss_kb":..,"status":..}. Exits with the command's status.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  struct rusage ru;
  int status = 0;
  double t0;
  pid_t pid;
  FILE *f;
  if (argc < 3) {
    fprintf(stderr, "usage: %s FILE COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  t0 = now();
  pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 1; }
  f = fopen(argv[1], "w");
  if (f == NULL) { perror(argv[1]); return 1; }
  fprintf(f, "{\"wall_s\":%.6f,\"user_s\":%.6f,\"sys_s\":%.6f,\"maxrss_kb\":%ld,\"status\":%d}\n", now() - t0,
          (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss,
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
