/* The engine thread: one epoll loop for the worker's native frontends. The listening
 * sockets are the process's (listen.c), shared by every worker's engine; one started
 * without them opens its own. A tick every 100 ms enforces timeouts. Stop, or the
 * worker's end (detach): accepting stops at once, open connections get `drain_ms`. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "conn.h"

#define TICK_MS 100
#define MAX_EVENTS 128
#define ACCEPT_BATCH 64
/* After this many connections closed, an idle tick gives freed memory back to the system:
 * glibc keeps a thread's freed arena pages mapped, and a flood of 32 kB connections
 * would otherwise stay in the resident size long after it is over. */
#define TRIM_AFTER 256

/* Detached engines still draining (their worker died): the process's exit cuts them
 * first and waits for them, so none runs while exit() tears down what it uses. */
static int detached_running; /* __atomic */
static int exiting;          /* __atomic */
static pthread_once_t at_exit_once = PTHREAD_ONCE_INIT;

static void cut_detached (void) {
  __atomic_store_n(&exiting, 1, __ATOMIC_SEQ_CST);
  struct timespec step = { 0, 1000 * 1000 };
  for (int i = 0; i < 2000 && __atomic_load_n(&detached_running, __ATOMIC_SEQ_CST) > 0; i++) nanosleep(&step, NULL);
}

static void register_at_exit (void) { atexit(cut_detached); }

void ws_engine_detached_end (void) {
  __atomic_sub_fetch(&detached_running, 1, __ATOMIC_SEQ_CST);
}

double ws_mono_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* EPOLLEXCLUSIVE for the process's descriptor: each connection wakes one engine thread
 * asleep in epoll_wait (the first in the queue), rather than every worker's; an engine
 * busy outside epoll_wait is passed over. */
static int watch_listener (ws_engine *e, ws_frontend *f) {
  struct epoll_event ev = { .events = EPOLLIN | (f->shared_listener ? EPOLLEXCLUSIVE : 0), .data.ptr = &f->lh };
  return epoll_ctl(e->epfd, EPOLL_CTL_ADD, f->listen_fd, &ev);
}

int ws_engine_listen (ws_engine *e, ws_frontend *f, int fd, int shared, char *err, size_t errlen) {
  f->listen_fd = fd;
  f->shared_listener = shared;
  f->port = ws_listen_port(fd);
  f->lh = (ws_handle){ WS_HK_LISTENER, f };
  /* TCP_NODELAY on the listener: Linux copies it into every connection established after
   * (ws_listen_open sets it before listen(), so none is queued without it), which saves a
   * setsockopt per connection; conn.c checks the first accepted ones and sets it on each
   * if it does not come. Engine node's copies of the descriptor share it. */
  int one = 1;
  f->nodelay_inherited = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 ? -WS_NODELAY_CHECKS : 0;
  ws_listen_keepalive(fd, f->keepalive_ms);
  if (watch_listener(e, f) != 0) { snprintf(err, errlen, "epoll: %s", strerror(errno)); return -1; }
  return 0;
}

void ws_engine_wake (ws_engine *e) {
  uint64_t one = 1;
  ssize_t n = write(e->wakefd, &one, sizeof one);
  (void)n;
}

void ws_engine_notify (ws_engine *e) {
  e->notify_due = 0;
  if (e->notify) e->notify(e);
}

/* epoll's timeout: the next tick, or sooner when the worker is due to be told. */
static int wait_ms (const ws_engine *e, double next_tick) {
  double until = e->notify_due > 0 && e->notify_due < next_tick ? e->notify_due : next_tick;
  double ms = until - ws_mono_ms();
  return ms <= 0 ? 0 : ms >= TICK_MS ? TICK_MS : (int)ms + 1;
}

static void accept_some (ws_engine *e, ws_frontend *f) {
  for (int i = 0; i < ACCEPT_BATCH && f->listen_fd >= 0; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(f->listen_fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) { ws_conn_accept(f, fd, (struct sockaddr *)&peer, len); continue; }
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      /* Out of descriptors or memory: the listener stays readable, so stop watching it
       * for a tick instead of spinning (the tick puts it back). */
      epoll_ctl(e->epfd, EPOLL_CTL_DEL, f->listen_fd, NULL);
      f->accept_paused = 1;
      return;
    }
    break; /* EAGAIN (another thread took it), or a connection that went away before accept */
  }
  /* No leaving and joining the wait queue again after a batch (it used to, so that
   * connections went round the engines): two epoll_ctl calls per batch, even with one
   * worker, and with several every engine woke for its share of a light load, so each
   * batched less and each woke its worker's JS thread. As nginx does (EPOLLEXCLUSIVE,
   * no accept mutex): the kernel wakes the first engine of the queue that is asleep in
   * epoll_wait, so a light load stays on one engine (its cache and batching warm, the
   * other worker idle) and while that engine is busy the next one takes the new
   * connections: the load spreads as it grows (test/e2e/workers.test.ts). */
}

static void resume_accepting (ws_engine *e) {
  for (int i = 0; i < e->nfe; i++) {
    ws_frontend *f = &e->fe[i];
    if (!f->accept_paused || f->listen_fd < 0) continue;
    if (watch_listener(e, f) == 0) f->accept_paused = 0;
  }
}

/* Stops accepting: the process's descriptors leave this epoll set (other workers, and
 * the backlog, go on), an engine's own are closed. */
static void close_listeners (ws_engine *e) {
  for (int i = 0; i < e->nfe; i++) {
    ws_frontend *f = &e->fe[i];
    if (f->listen_fd < 0) continue;
    if (f->shared_listener) epoll_ctl(e->epfd, EPOLL_CTL_DEL, f->listen_fd, NULL);
    else close(f->listen_fd); /* also leaves the epoll set */
    f->listen_fd = -1;
  }
}

/* The worker's JS thread is ending: from here on nothing of its memory is touched. The
 * store is not used (the supervisor recovers a dead worker's store lock, and a lock taken
 * after that would be broken under us), the ticket keys stay as last read, the servers'
 * up/down as last written; events have no reader. Runs between events, so no store
 * operation is under way. */
static void detach (ws_engine *e) {
  pthread_once(&at_exit_once, register_at_exit);
  __atomic_add_fetch(&detached_running, 1, __ATOMIC_SEQ_CST);
  e->has_store = 0;
  e->ring = NULL;
  e->ring_words = 0;
  e->notify = NULL;
  e->counters = NULL; /* the worker's: nobody reads them any more */
  for (int i = 0; i < e->nfe; i++) {
    for (int k = 0; k < e->fe[i].nbackends; k++) {
      ws_backend *b = &e->fe[i].backends[k];
      if (!b->up) continue;
      for (int s = 0; s < b->nservers; s++) b->up_own[s] = __atomic_load_n(&b->up[s], __ATOMIC_RELAXED);
      b->up = b->up_own;
    }
  }
  pthread_mutex_lock(&e->mu);
  e->detached = 1;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->mu);
}

int ws_engine_run (ws_engine *e) {
  struct epoll_event events[MAX_EVENTS];
  double next_tick = ws_mono_ms() + TICK_MS, drain_until = 0;
  int draining = 0;
  int detached = 0;
  int closed_at_tick = 0;
  for (;;) {
    if (!detached && __atomic_load_n(&e->detach_req, __ATOMIC_SEQ_CST)) {
      detach(e);
      detached = 1;
    }
    /* A detached engine drains what it has (drain_ms: shutdown_timeout) and ends. */
    if (!draining && (detached || __atomic_load_n(&e->stopping, __ATOMIC_SEQ_CST))) {
      draining = 1;
      close_listeners(e);
      drain_until = ws_mono_ms() + e->drain_ms;
    }
    if (draining && (e->conns == NULL || ws_mono_ms() >= drain_until)) break;
    if (detached && __atomic_load_n(&exiting, __ATOMIC_SEQ_CST)) break;
    int n = epoll_wait(e->epfd, events, MAX_EVENTS, wait_ms(e, next_tick));
    e->batch++;
    for (int i = 0; i < n; i++) {
      ws_handle *h = events[i].data.ptr;
      if (h->kind == WS_HK_WAKE) {
        uint64_t v;
        ssize_t r = read(e->wakefd, &v, sizeof v);
        (void)r;
        ws_tier_answers(e); /* the worker answered lookups of the Redis tier */
      } else if (h->kind == WS_HK_LISTENER) {
        accept_some(e, h->owner);
      } else {
        ws_conn_event(h->owner, h->kind, events[i].events);
      }
    }
    double now = ws_mono_ms();
    if (e->notify_due > 0 && now >= e->notify_due) ws_engine_notify(e);
    if (now >= next_tick) {
      next_tick = now + TICK_MS;
      if (!draining) resume_accepting(e);
      /* Idle: nothing closed for a whole tick. A tick's wait that saw no event is not
       * idle under load: at 160/s that trimmed every few seconds, ~10 MB given back
       * and faulted in again (madvise + mprotect + page faults), the spares remade. */
      if (n == 0 && e->closed_since_trim >= TRIM_AFTER && e->closed_since_trim == closed_at_tick) {
        for (int f = 0; f < e->nfe; f++) ws_ssl_spares_free(&e->fe[f]); /* a burst's spares go with it */
        malloc_trim(0);
        e->closed_since_trim = 0;
      }
      closed_at_tick = e->closed_since_trim;
      for (struct ws_conn *c = e->conns, *next; c; c = next) {
        next = c->next;
        ws_conn_tick(c, now);
      }
    }
    ws_conn_free_closed(e);
  }
  close_listeners(e);
  /* Still open at the end of the drain: cut, and each one said (stage shutdown), as engine node does. */
  char reason[96];
  snprintf(reason, sizeof reason, "still open after shutdown_timeout (%.0f ms): cut", e->drain_ms);
  while (e->conns) ws_conn_close(e->conns, WS_ST_SHUTDOWN, reason);
  ws_conn_free_closed(e);
  return 0;
}
