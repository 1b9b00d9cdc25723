// tend's native spawn helper: the same process, protocol and rules as libexec/tend-spawn-helper.mjs
// (read its header first), in C. `npm run build` compiles it to libexec/tend-spawn-helper when the
// machine has a C compiler (scripts/build-native.mjs); tend runs it when that file exists and
// answers, and the JavaScript helper otherwise (src/runtime/spawn-helper.ts).
//
// Why a second one (issue 13, bench/FINDINGS.md §11): a Node process spawning 2500 `sleep`s spends
// most of its CPU outside the kernel's exec: V8 and libuv around each spawn, and each fork copies
// the page tables of a ~50 MiB process and then faults its pages back in (copy-on-write) while the
// child runs towards exec. This process is ~1.6 MiB (RSS): its fork copies almost nothing, its
// loop does nothing but the system calls, and it reaps with one waitpid(-1) per exit instead of
// libuv's sweep.
//
// What a replica gets is what libuv's uv_spawn gives it (tend's in-process path): its own session
// (setsid), stdin on /dev/null, stdout and stderr one O_APPEND descriptor on its log, every signal's
// disposition at its default and none blocked, setgroups/setgid/setuid when a user is asked for
// (with one difference: the user's supplementary groups, which libuv clears and cannot set), the
// working directory, the caller's soft open-files limit when tend asks (Node cannot), then execvp
// with PATH looked up in the replica's own environment. An error at any step after the fork comes
// back through a close-on-exec pipe, as libuv's does.
//
// Input lines are JSON written by tend (JSON.stringify), so the parser below reads JSON, only as
// much as those requests use: objects, arrays, strings (every escape), numbers, true/false/null.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

// ---- replies: buffered, written at the end of each batch of work (as the JS helper's setImmediate)

static char *obuf;
static size_t olen, ocap;
static unsigned olines;

static void out_bytes(const char *s, size_t n) {
  if (olen + n > ocap) {
    while (olen + n > ocap) ocap = ocap ? ocap * 2 : 65536;
    obuf = realloc(obuf, ocap);
    if (!obuf) _exit(70);
  }
  memcpy(obuf + olen, s, n);
  olen += n;
}

static void out_s(const char *s) { out_bytes(s, strlen(s)); }

static void out_num(long long v) {
  char b[32];
  out_bytes(b, (size_t)snprintf(b, sizeof b, "%lld", v));
}

/** A JSON string: the bytes as they are (UTF-8 from the system), `"`, `\` and controls escaped. */
static void out_str(const char *s) {
  out_bytes("\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      out_bytes(e, 2);
    } else if (c < 0x20) {
      char e[8];
      out_bytes(e, (size_t)snprintf(e, sizeof e, "\\u%04x", c));
    } else out_bytes((const char *)&c, 1);
  }
  out_bytes("\"", 1);
}

static void end_line(void) {
  out_bytes("\n", 1);
  olines++;
}

/** Writes what the pipe takes now; the rest waits for the main loop's poll (POLLOUT). stdout does
 *  not block: a helper blocked on a full pipe while tend was busy stopped reaping, and the replicas
 *  it had signalled stayed zombies until tend read their exits (a stop of 5000 was paced by tend's
 *  bookkeeping, bench/FINDINGS.md §15). At the end (`blocking`), everything is written. */
static void flush_out_how(int blocking) {
  size_t off = 0;
  while (off < olen) {
    ssize_t w = write(1, obuf + off, olen - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!blocking) break;
        struct pollfd p = {.fd = 1, .events = POLLOUT};
        poll(&p, 1, -1);
        continue;
      }
      _exit(0); // tend is gone (EPIPE): so are we
    }
    off += (size_t)w;
  }
  memmove(obuf, obuf + off, olen - off);
  olen -= off;
  if (olen == 0) olines = 0;
}

static void flush_out(void) { flush_out_how(0); }

static const char *code_of(int err) {
  const char *name = strerrorname_np(err);
  return name ? name : "UNKNOWN";
}

/** Node's own wording for a failed system call: "ENOENT: no such file or directory, open '/x'". */
static const char *sys_msg(int err, const char *syscall, const char *path) {
  static char m[4200];
  const char *text = strerror(err);
  snprintf(m, sizeof m, "%s: %c%s, %s '%s'", code_of(err), text[0] >= 'A' && text[0] <= 'Z' ? text[0] - 'A' + 'a' : text[0], text + 1, syscall, path);
  return m;
}

// ---- children forked and not reaped yet: while a leader is unreaped its group id is not reused

// A bit per possible pid, up to the kernel's PID_MAX_LIMIT (2^22) whatever pid_max is now: it can
// be raised while tend runs, and a replica's pid above the bitmap would have had its exit dropped.
// 512 KiB of address space, of which only the pages of pids in use are ever touched.
#define PID_LIMIT (1L << 22)
static unsigned char unreaped[PID_LIMIT / 8];

static int is_unreaped(long pid) { return pid > 0 && pid < PID_LIMIT && (unreaped[pid >> 3] >> (pid & 7)) & 1; }
static void set_unreaped(long pid, int on) {
  if (pid <= 0 || pid >= PID_LIMIT) return;
  if (on) unreaped[pid >> 3] |= (unsigned char)(1u << (pid & 7));
  else unreaped[pid >> 3] &= (unsigned char)~(1u << (pid & 7));
}

/** Fields 3 and 22 of /proc/P/stat: state and start time. 0 if there is no such process. */
static int stat_of(long pid, char *state, unsigned long long *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || p[1] == 0) return 0;
  p += 2; // the state
  *state = *p;
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p) return 0;
    p++;
  }
  *start = strtoull(p, NULL, 10);
  return 1;
}

// ---- JSON, decoded in place: a decoded string is never longer than its text, so it is written
// over it and ended with a NUL where it ended.

typedef struct {
  char *p;
  int bad;
} Json;

static void ws(Json *j) {
  while (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n') j->p++;
}

static int hex4(const char *s, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    *v <<= 4;
    if (c >= '0' && c <= '9') *v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') *v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') *v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  return 1;
}

static char *put_utf8(char *w, unsigned cp) {
  if (cp < 0x80) *w++ = (char)cp;
  else if (cp < 0x800) {
    *w++ = (char)(0xC0 | (cp >> 6));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xE0 | (cp >> 12));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *w++ = (char)(0xF0 | (cp >> 18));
    *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  }
  return w;
}

/** A string; *nul is set when it holds a NUL (which no argv or environment entry can carry). A lone
 *  surrogate becomes U+FFFD, as Node's UTF-8 encoding of it does. */
static char *jstring(Json *j, int *nul) {
  ws(j);
  if (*j->p != '"') {
    j->bad = 1;
    return NULL;
  }
  char *start = ++j->p, *w = start;
  for (;;) {
    char c = *j->p;
    if (c == 0) {
      j->bad = 1;
      return NULL;
    }
    j->p++;
    if (c == '"') break;
    if (c != '\\') {
      *w++ = c;
      continue;
    }
    char e = *j->p++;
    switch (e) {
      case '"': *w++ = '"'; break;
      case '\\': *w++ = '\\'; break;
      case '/': *w++ = '/'; break;
      case 'b': *w++ = '\b'; break;
      case 'f': *w++ = '\f'; break;
      case 'n': *w++ = '\n'; break;
      case 'r': *w++ = '\r'; break;
      case 't': *w++ = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (!hex4(j->p, &cp)) {
          j->bad = 1;
          return NULL;
        }
        j->p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && j->p[0] == '\\' && j->p[1] == 'u' && hex4(j->p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          j->p += 6;
        } else if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
        if (cp == 0 && nul) *nul = 1;
        w = put_utf8(w, cp);
        break;
      }
      default: j->bad = 1; return NULL;
    }
  }
  *w = 0;
  return start;
}

static int lit(Json *j, const char *word) {
  size_t n = strlen(word);
  if (strncmp(j->p, word, n) != 0) return 0;
  j->p += n;
  return 1;
}

/** A number, or -1 for null (no request field is negative). */
static long long jnumber(Json *j) {
  ws(j);
  if (lit(j, "null")) return -1;
  char *end;
  double v = strtod(j->p, &end);
  if (end == j->p) {
    j->bad = 1;
    return -1;
  }
  j->p = end;
  return (long long)v;
}

static void jskip(Json *j);

/** Calls item(j, ctx) for each element of a list between `open` and `close` (an array, or an
 *  object's members); item reads the element. */
static void jlist(Json *j, char open, char close, void (*item)(Json *, void *), void *ctx) {
  ws(j);
  if (*j->p != open) {
    j->bad = 1;
    return;
  }
  j->p++;
  ws(j);
  if (*j->p == close) {
    j->p++;
    return;
  }
  while (!j->bad) {
    item(j, ctx);
    if (j->bad) return;
    ws(j);
    if (*j->p == ',') j->p++;
    else if (*j->p == close) {
      j->p++;
      return;
    } else j->bad = 1;
  }
}

typedef struct {
  void (*each)(Json *, const char *, void *);
  void *ctx;
} Members;

static void member(Json *j, void *ctx) {
  Members *m = ctx;
  const char *key = jstring(j, NULL);
  if (j->bad) return;
  ws(j);
  if (*j->p++ != ':') {
    j->bad = 1;
    return;
  }
  m->each(j, key, m->ctx);
}

/** Calls each(j, key, ctx) for each member of an object; each reads the value. */
static void jobject(Json *j, void (*each)(Json *, const char *, void *), void *ctx) {
  Members m = {each, ctx};
  jlist(j, '{', '}', member, &m);
}

static void skip_item(Json *j, void *ctx) {
  (void)ctx;
  jskip(j);
}

static void skip_member(Json *j, const char *key, void *ctx) {
  (void)key;
  (void)ctx;
  jskip(j);
}

static void jskip(Json *j) {
  ws(j);
  char c = *j->p;
  if (c == '{') jobject(j, skip_member, NULL);
  else if (c == '[') jlist(j, '[', ']', skip_item, NULL);
  else if (c == '"') jstring(j, NULL);
  else if (lit(j, "true") || lit(j, "false") || lit(j, "null")) return;
  else jnumber(j);
}

// ---- a request

typedef struct {
  char **v;
  size_t n, cap;
} Strings;

static void push(Strings *s, char *x) {
  if (s->n + 1 >= s->cap) {
    s->cap = s->cap ? s->cap * 2 : 32;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (!s->v) _exit(70);
  }
  s->v[s->n++] = x;
  s->v[s->n] = NULL;
}

// Supplementary groups of a replica run as another user (at most NGROUPS_MAX; more are dropped).
#define MAX_GROUPS 65536

typedef struct {
  long long id, uid, gid, kill, pid, start, nofile;
  int has_id, has_kill, nul;
  char *cwd, *log;
  Strings argv, env, sigs; // env's "KEY=VALUE" strings are made here, freed after the fork
  gid_t *groups;           // malloc'd, freed after the fork
  size_t ngroups;
} Request;

typedef struct {
  Strings *into;
  int *nul;
} StringsInto;

static void string_item(Json *j, void *ctx) {
  StringsInto *t = ctx;
  char *s = jstring(j, t->nul);
  if (!j->bad) push(t->into, s);
}

static void string_array(Json *j, Strings *into, int *nul) {
  StringsInto t = {into, nul};
  jlist(j, '[', ']', string_item, &t);
}

static void env_member(Json *j, const char *key, void *ctx) {
  Request *r = ctx;
  ws(j);
  if (*j->p != '"') {
    jskip(j); // not a string: not passed (JSON.stringify drops undefined)
    return;
  }
  char *value = jstring(j, &r->nul);
  if (j->bad) return;
  size_t kn = strlen(key), vn = strlen(value);
  char *kv = malloc(kn + vn + 2);
  if (!kv) _exit(70);
  memcpy(kv, key, kn);
  kv[kn] = '=';
  memcpy(kv + kn + 1, value, vn + 1);
  push(&r->env, kv);
}

static void group_item(Json *j, void *ctx) {
  Request *r = ctx;
  long long g = jnumber(j);
  if (j->bad || g < 0 || r->ngroups >= MAX_GROUPS) return;
  if (r->ngroups % 16 == 0) {
    r->groups = realloc(r->groups, (r->ngroups + 16) * sizeof *r->groups);
    if (!r->groups) _exit(70);
  }
  r->groups[r->ngroups++] = (gid_t)g;
}

static void request_member(Json *j, const char *key, void *ctx) {
  Request *r = ctx;
  if (!strcmp(key, "id")) r->id = jnumber(j), r->has_id = 1;
  else if (!strcmp(key, "argv")) string_array(j, &r->argv, &r->nul);
  else if (!strcmp(key, "cwd")) r->cwd = jstring(j, &r->nul);
  else if (!strcmp(key, "env")) jobject(j, env_member, r);
  else if (!strcmp(key, "log")) r->log = jstring(j, &r->nul);
  else if (!strcmp(key, "uid")) r->uid = jnumber(j);
  else if (!strcmp(key, "gid")) r->gid = jnumber(j);
  else if (!strcmp(key, "groups")) jlist(j, '[', ']', group_item, r);
  else if (!strcmp(key, "nofile")) r->nofile = jnumber(j);
  else if (!strcmp(key, "kill")) r->kill = jnumber(j), r->has_kill = 1;
  else if (!strcmp(key, "pid")) r->pid = jnumber(j);
  else if (!strcmp(key, "start")) r->start = jnumber(j);
  else if (!strcmp(key, "sigs")) string_array(j, &r->sigs, NULL);
  else jskip(j);
}

// ---- signals by name, as Node names them

static int signal_number(const char *name) {
  if (strncmp(name, "SIG", 3) != 0) return 0;
  for (int s = 1; s < NSIG; s++) {
    const char *abbrev = sigabbrev_np(s);
    if (abbrev && !strcmp(abbrev, name + 3)) return s;
  }
  if (!strcmp(name, "SIGIOT")) return SIGABRT;
  if (!strcmp(name, "SIGPOLL")) return SIGIO;
  return 0;
}

static void out_signal_name(int sig) {
  const char *abbrev = sig == SIGIO ? "IO" : sigabbrev_np(sig);
  char b[32];
  snprintf(b, sizeof b, "SIG%s", abbrev ? abbrev : "UNKNOWN");
  out_str(b);
}

// A stop asked by tend (the JS helper's signalGroup): a leader already reaped leaves its group id
// free for reuse, so then no signal if a live process with that pid has another start time.
static void signal_group(Request *r) {
  if (!is_unreaped(r->pid)) {
    char state;
    unsigned long long start;
    if (stat_of(r->kill, &state, &start) && state != 'Z' && state != 'X' && (long long)start != r->start) return;
  }
  for (size_t i = 0; i < r->sigs.n; i++) {
    int sig = signal_number(r->sigs.v[i]);
    if (sig == 0 || r->kill <= 1) continue;
    if (kill((pid_t)-r->kill, sig) == 0 || errno == ESRCH) continue;
    int err = errno;
    out_s("{\"killErr\":");
    out_num(r->kill);
    out_s(",\"err\":");
    out_str(code_of(err));
    out_s(",\"msg\":");
    char m[128];
    snprintf(m, sizeof m, "kill %s", code_of(err));
    out_str(m);
    out_s("}");
    end_line();
    return;
  }
}

/** A spawn that failed: {"id","err","msg","stage"}. */
static void fail(Request *r, const char *code, const char *msg, const char *stage) {
  out_s("{\"id\":");
  out_num(r->id);
  out_s(",\"err\":");
  out_str(code);
  out_s(",\"msg\":");
  out_str(msg);
  out_s(",\"stage\":");
  out_str(stage);
  out_s("}");
  end_line();
}

static int mkdir_p(char *dir) {
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    int rc = mkdir(dir, 0777);
    *p = '/';
    if (rc != 0 && errno != EEXIST) return -1;
  }
  return mkdir(dir, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static int open_log(const char *path) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd >= 0 || errno != ENOENT) return fd;
  char *dir = strdup(path);
  if (!dir) _exit(70);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    mkdir_p(dir); // an error shows in the open below
  }
  free(dir);
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
}

/** In the child, between fork and exec: only system calls, and an error sent back on the pipe. */
static void child(Request *r, int logfd, int errfd) {
  int err;
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (setsid() < 0) goto fail;
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0) goto fail;
  if (devnull != 0 && (dup2(devnull, 0) < 0 || close(devnull) < 0)) goto fail;
  if (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) goto fail;
  if (r->cwd && *r->cwd && chdir(r->cwd) < 0) goto fail;
  // The soft open-files limit of the shell that started tend (src/util/nofile.ts): Node raised its
  // own to the hard limit, and this process inherited that. Lowered only, the hard limit kept.
  if (r->nofile > 0) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && (rlim_t)r->nofile < lim.rlim_cur) {
      lim.rlim_cur = (rlim_t)r->nofile;
      if (setrlimit(RLIMIT_NOFILE, &lim) < 0) goto fail;
    }
  }
  if (r->uid >= 0 || r->gid >= 0) {
    // The user's groups, as initgroups gives a login (computed by tend from /etc/group: no NSS
    // between fork and exec); none when not asked for, so no group of tend's is kept.
    if (setgroups(r->ngroups, r->groups) < 0 && errno != EPERM) goto fail;
    if (r->gid >= 0 && setgid((gid_t)r->gid) < 0) goto fail;
    if (r->uid >= 0 && setuid((uid_t)r->uid) < 0) goto fail;
  }
  static char *empty_env[] = {NULL};
  environ = r->env.v ? r->env.v : empty_env;
  execvp(r->argv.v[0], r->argv.v);
fail:
  err = errno;
  while (write(errfd, &err, sizeof err) < 0 && errno == EINTR) {
  }
  _exit(127);
}

// Forks whose exec is not known yet. A child's close-on-exec pipe closes at its exec, or first
// carries its errno. libuv reads it at once, so a Node helper idles for the length of each exec;
// this one opens the next log and forks the next replica meanwhile (bench/FINDINGS.md §11).
// At most 64, and fewer under a low descriptor limit: each holds a pipe's end.
#define MAX_PENDING 64
static int max_pending = MAX_PENDING;
typedef struct {
  int fd;
  pid_t pid;
  long long id, offset;
  unsigned long long start;
  char *argv0;
} Pending;
static Pending pending[MAX_PENDING];
static int npending;

/** The reply for pending[i], once its pipe is readable (or its child reaped: `reaped`). Returns 1
 *  if it had exec'd: its exit, if any, is to be told after. */
static int settle(int i, int reaped) {
  Pending p = pending[i];
  pending[i] = pending[--npending];
  int childErr;
  ssize_t n;
  while ((n = read(p.fd, &childErr, sizeof childErr)) < 0 && errno == EINTR) {
  }
  close(p.fd);
  int ok = n != (ssize_t)sizeof childErr;
  if (ok) {
    out_s("{\"id\":");
    out_num(p.id);
    out_s(",\"pid\":");
    out_num(p.pid);
    out_s(",\"start\":");
    out_num((long long)p.start);
    out_s(",\"offset\":");
    out_num(p.offset);
    out_s("}");
    end_line();
  } else {
    set_unreaped(p.pid, 0);
    if (!reaped) {
      while (waitpid(p.pid, NULL, 0) < 0 && errno == EINTR) {
      }
    }
    char m[4200];
    snprintf(m, sizeof m, "spawn %s %s", p.argv0 ? p.argv0 : "", code_of(childErr)); // Node's words
    Request r = {.id = p.id};
    fail(&r, code_of(childErr), m, "spawn");
  }
  free(p.argv0);
  return ok;
}

/** Settles every pending fork whose pipe is readable now, without waiting. */
static void settle_ready(void) {
  if (npending == 0) return;
  struct pollfd fds[MAX_PENDING];
  for (int i = 0; i < npending; i++) fds[i] = (struct pollfd){.fd = pending[i].fd, .events = POLLIN};
  if (poll(fds, (nfds_t)npending, 0) <= 0) return;
  // From the end, as settle() moves the last entry into the slot it frees.
  for (int i = npending - 1; i >= 0; i--)
    if (fds[i].revents) settle(i, 0);
}

static void spawn_one(Request *r) {
  // Node refuses these before forking (ERR_INVALID_ARG_VALUE); tend checks them earlier.
  if (r->nul) {
    fail(r, "ERR_INVALID_ARG_VALUE", "an argument, the environment or a path holds a null byte", "spawn");
    return;
  }
  if (r->argv.n == 0 || !r->log) {
    fail(r, "ERR_INVALID_ARG_VALUE", "a spawn request without argv or log", "spawn");
    return;
  }
  while (npending >= max_pending) settle(0, 0);
  int logfd = open_log(r->log);
  if (logfd < 0 && (errno == EMFILE || errno == ENFILE) && npending > 0) {
    while (npending > 0) settle(0, 0); // their pipes give descriptors back
    logfd = open_log(r->log);
  }
  if (logfd < 0) {
    fail(r, code_of(errno), sys_msg(errno, "open", r->log), "log");
    return;
  }
  struct stat st;
  long long offset = fstat(logfd, &st) == 0 ? (long long)st.st_size : 0;
  int pipefd[2];
  int piped = pipe2(pipefd, O_CLOEXEC);
  if (piped < 0 && (errno == EMFILE || errno == ENFILE) && npending > 0) {
    while (npending > 0) settle(0, 0);
    piped = pipe2(pipefd, O_CLOEXEC);
  }
  if (piped < 0) {
    int err = errno;
    close(logfd);
    fail(r, code_of(err), sys_msg(err, "spawn", r->argv.v[0]), "spawn");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) child(r, logfd, pipefd[1]);
  int err = errno;
  close(pipefd[1]);
  close(logfd);
  if (pid < 0) {
    close(pipefd[0]);
    fail(r, code_of(err), sys_msg(err, "spawn", r->argv.v[0]), "spawn");
    return;
  }
  Pending *p = &pending[npending++];
  p->fd = pipefd[0];
  p->pid = pid;
  p->id = r->id;
  p->offset = offset;
  p->argv0 = strdup(r->argv.v[0]);
  // Read now: the child is not reaped before its exec is settled, so the pid is still its own.
  char state;
  if (!stat_of(pid, &state, &p->start)) p->start = 0;
  set_unreaped(pid, 1);
}

static void handle_line(char *line) {
  Request r;
  memset(&r, 0, sizeof r);
  r.uid = r.gid = -1;
  Json j = {line, 0};
  jobject(&j, request_member, &r);
  if (!j.bad) {
    if (r.has_kill) signal_group(&r);
    else if (r.has_id) spawn_one(&r);
  }
  // Only the "KEY=VALUE" strings were allocated; the rest points into the line.
  if (r.env.v) {
    for (size_t i = 0; i < r.env.n; i++) free(r.env.v[i]);
    free(r.env.v);
  }
  free(r.argv.v);
  free(r.sigs.v);
  free(r.groups);
}

static void reap(void) {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    if (!is_unreaped(pid)) continue;
    int i = 0;
    while (i < npending && pending[i].pid != pid) i++;
    if (i < npending && !settle(i, 1)) continue; // its exec failed: that was its reply
    set_unreaped(pid, 0);
    // Its group (a replica leads its own) with nobody left in it: told, so that a stop waiting for
    // it ends without the daemon asking the kernel itself. Nothing can join a group that is empty.
    int empty = kill(-pid, 0) < 0 && errno == ESRCH;
    out_s("{\"exit\":");
    out_num(pid);
    out_s(",\"code\":");
    if (WIFEXITED(st)) out_num(WEXITSTATUS(st));
    else out_s("null");
    out_s(",\"signal\":");
    if (WIFSIGNALED(st)) out_signal_name(WTERMSIG(st));
    else out_s("null");
    if (empty) out_s(",\"empty\":true");
    out_s("}");
    end_line();
  }
}

int main(void) {
  // Ctrl-C in tend's terminal, a SIGTERM to tend's group: tend decides; this process goes with its
  // stdin. (A replica gets every disposition back to its default in child().)
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  // What a replica's descendants leave orphaned (a daemonising child, `(worker &)` in a script)
  // comes to this process instead of init, and reap() reaps it. Where init does not reap (tend as
  // a container's PID 1, which is Node and reaps only its own children; some VMs' init), such
  // orphans stayed zombies for good: ~5 a second for a script starting `(sleep 0.1 &)` in a loop.
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Descriptors 0-2 open, even if tend's stderr was closed: whatever is opened first would take
  // fd 2, and a log opened there would stay close-on-exec through dup2(2, 2) (the replica would
  // lose its stderr). Only the signalfd, made first, kept that from happening.
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0) return 73;

  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    long spare = ((long)nofile.rlim_cur - 16) / 2; // its own few, a log and a pipe per fork
    max_pending = spare < 1 ? 1 : spare < MAX_PENDING ? (int)spare : MAX_PENDING;
  }

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return 71;

  size_t cap = 1 << 16, len = 0;
  char *in = malloc(cap);
  if (!in) return 70;

  // fd 1 is this helper's own end of the socket pair tend made for it: O_NONBLOCK on it changes
  // no descriptor anyone else holds (see flush_out_how).
  int flags = fcntl(1, F_GETFL);
  if (flags < 0 || fcntl(1, F_SETFL, flags | O_NONBLOCK) < 0) return 74;

  out_s("{\"ready\":true}");
  end_line();
  for (;;) {
    flush_out();
    // The last slot: stdout, while replies wait for room in the pipe.
    struct pollfd fds[3 + MAX_PENDING] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    int waiting = npending;
    for (int i = 0; i < waiting; i++) fds[2 + i] = (struct pollfd){.fd = pending[i].fd, .events = POLLIN};
    int nfds = 2 + waiting;
    if (olen > 0) fds[nfds++] = (struct pollfd){.fd = 1, .events = POLLOUT};
    if (poll(fds, (nfds_t)nfds, -1) < 0) {
      if (errno == EINTR) continue;
      return 72;
    }
    if (fds[1].revents) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof info) > 0) {
      }
      reap();
    }
    settle_ready();
    if (!fds[0].revents) continue;
    if (len + 4096 > cap) {
      cap *= 2;
      in = realloc(in, cap);
      if (!in) return 70;
    }
    ssize_t n = read(0, in + len, cap - len - 1);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (n == 0) break; // tend is gone: replicas run on, and a later tend adopts them
    len += (size_t)n;
    in[len] = 0;
    char *line = in, *nl;
    unsigned done = 0;
    while ((nl = memchr(line, '\n', len - (size_t)(line - in)))) {
      *nl = 0;
      handle_line(line);
      line = nl + 1;
      // A batch of forks lets exits and pids through as it goes: a crash is not held up behind it.
      if (++done % 16 == 0) {
        reap();
        settle_ready();
        if (olines >= 32) flush_out();
      }
    }
    len -= (size_t)(line - in);
    memmove(in, line, len);
  }
  while (npending > 0) settle(0, 0);
  reap();
  flush_out_how(1);
  return 0;
}
