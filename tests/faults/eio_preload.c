// A disk that fails: preloaded into a process (LD_PRELOAD), it makes one kind of write
// system call on regular files fail with EIO at a seeded probability, as a failing block
// device does. The tests run fracsweep under it (testing::run_fracsweep_failing).
//
//   FRACSWEEP_EIO=CALL:PROBABILITY:SEED    CALL is fsync (fsync, fdatasync), pwrite
//                                          (pwrite, pwrite64) or write
//   FRACSWEEP_EIO_PATH=TEXT                optional: only files whose path (as
//                                          /proc/self/fd names it) contains TEXT can
//                                          fail, and only their calls draw; unset or
//                                          empty, every regular file
//
// The path filter fails one kind of file and spares the rest: a job's checkpoints
// ("checkpoint_") while the sweep's ledger, written by the same rank, stays healthy.
//
// Why not libfiu's POSIX preload (fiu-run -x): it wraps malloc and strdup too, and its
// lock and the dynamic linker's deadlock when one thread opens a library while another
// is inside libfiu (seen with LibTorch's and Open MPI's threads). This library wraps only
// the calls it fails, and finds the real ones before any thread exists.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef int (*sync_fn)(int);
typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void*, size_t);

static sync_fn real_fsync, real_fdatasync;
static pwrite_fn real_pwrite, real_pwrite64;
static write_fn real_write;

enum call { kNone, kFsync, kPwrite, kWrite };
static enum call failing = kNone;
static uint64_t threshold;  // fail when a draw falls below this (probability * 2^64)
static uint64_t seed;
static atomic_uint_fast64_t draws;
static char only_path[256];  // FRACSWEEP_EIO_PATH, or "" for every file

__attribute__((constructor)) static void eio_preload_init(void) {
  real_fsync = (sync_fn)dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (sync_fn)dlsym(RTLD_NEXT, "fdatasync");
  real_pwrite = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
  real_pwrite64 = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
  real_write = (write_fn)dlsym(RTLD_NEXT, "write");
  const char* spec = getenv("FRACSWEEP_EIO");
  if (spec == NULL || *spec == '\0') return;
  char name[16] = {0};
  double probability = 0;
  unsigned long long s = 0;
  if (sscanf(spec, "%15[a-z0-9]:%lf:%llu", name, &probability, &s) != 3 || probability < 0 ||
      probability > 1) {
    fprintf(stderr, "eio_preload: FRACSWEEP_EIO='%s' is not CALL:PROBABILITY:SEED\n", spec);
    abort();
  }
  if (strcmp(name, "fsync") == 0) failing = kFsync;
  else if (strcmp(name, "pwrite") == 0) failing = kPwrite;
  else if (strcmp(name, "write") == 0) failing = kWrite;
  else {
    fprintf(stderr, "eio_preload: unknown call '%s' (fsync, pwrite or write)\n", name);
    abort();
  }
  threshold = probability >= 1 ? UINT64_MAX : (uint64_t)(probability * 18446744073709551616.0);
  seed = s;
  const char* only = getenv("FRACSWEEP_EIO_PATH");
  if (only != NULL && strlen(only) >= sizeof only_path) {
    fprintf(stderr, "eio_preload: FRACSWEEP_EIO_PATH is longer than %zu characters\n",
            sizeof only_path - 1);
    abort();
  }
  if (only != NULL) strcpy(only_path, only);
}

// splitmix64 of the seed and the draw's number: the same calls in the same order fail
// alike in every run.
static int draw_fails(int fd, const char* call_name) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;  // pipes, sockets, terminals
  char path[512] = "?";
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t len = readlink(link, path, sizeof path - 1);
  if (len > 0) path[len] = '\0';
  if (only_path[0] != '\0' && (len <= 0 || strstr(path, only_path) == NULL)) return 0;
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (atomic_fetch_add(&draws, 1) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  if (z >= threshold) return 0;
  // Said on stderr, so that a test knows which trials met a fault and where.
  char line[640];
  const int n = snprintf(line, sizeof line, "eio_preload: EIO from %s on %s\n", call_name, path);
  if (n > 0) real_write(2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
  errno = EIO;
  return 1;
}

int fsync(int fd) {
  if (failing == kFsync && draw_fails(fd, "fsync")) return -1;
  return real_fsync(fd);
}

int fdatasync(int fd) {
  if (failing == kFsync && draw_fails(fd, "fdatasync")) return -1;
  return real_fdatasync(fd);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  if (failing == kPwrite && draw_fails(fd, "pwrite")) return -1;
  return real_pwrite(fd, buf, n, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
  if (failing == kPwrite && draw_fails(fd, "pwrite64")) return -1;
  return real_pwrite64(fd, buf, n, offset);
}

ssize_t write(int fd, const void* buf, size_t n) {
  if (failing == kWrite && draw_fails(fd, "write")) return -1;
  return real_write(fd, buf, n);
}
