/* The engine thread: one epoll loop for the worker's native frontends. Listening
 * sockets are the engine's own, bound with SO_REUSEPORT to the same port as every other
 * worker's (the kernel spreads connections). A tick every 100 ms enforces timeouts.
 * Stop: the listeners close at once, open connections get `drain_ms` to finish. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

double ws_mono_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int ws_engine_listen (ws_engine *e, ws_frontend *f, const char *host, int port, int backlog, char *err, size_t errlen) {
  struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai = NULL;
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  int rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &ai);
  if (rc != 0) { snprintf(err, errlen, "bind %s:%d: %s", host, port, gai_strerror(rc)); return -1; }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog > 0 ? backlog : 511) != 0) {
    snprintf(err, errlen, "listen %s:%d: %s", host, port, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  struct sockaddr_storage bound;
  socklen_t len = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &len);
  f->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);
  f->listen_fd = fd;
  f->lh = (ws_handle){ WS_HK_LISTENER, f };
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->lh };
  if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) { snprintf(err, errlen, "epoll: %s", strerror(errno)); return -1; }
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
    }
    return; /* EAGAIN, or a connection that went away before accept */
  }
}

static void resume_accepting (ws_engine *e) {
  for (int i = 0; i < e->nfe; i++) {
    ws_frontend *f = &e->fe[i];
    if (!f->accept_paused || f->listen_fd < 0) continue;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->lh };
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, f->listen_fd, &ev) == 0) f->accept_paused = 0;
  }
}

static void close_listeners (ws_engine *e) {
  for (int i = 0; i < e->nfe; i++) {
    if (e->fe[i].listen_fd < 0) continue;
    close(e->fe[i].listen_fd); /* also leaves the epoll set */
    e->fe[i].listen_fd = -1;
  }
}

int ws_engine_run (ws_engine *e) {
  struct epoll_event events[MAX_EVENTS];
  double next_tick = ws_mono_ms() + TICK_MS, drain_until = 0;
  int draining = 0;
  for (;;) {
    if (!draining && __atomic_load_n(&e->stopping, __ATOMIC_SEQ_CST)) {
      draining = 1;
      close_listeners(e);
      drain_until = ws_mono_ms() + e->drain_ms;
    }
    if (draining && (e->conns == NULL || ws_mono_ms() >= drain_until)) break;
    int n = epoll_wait(e->epfd, events, MAX_EVENTS, wait_ms(e, next_tick));
    for (int i = 0; i < n; i++) {
      ws_handle *h = events[i].data.ptr;
      if (h->kind == WS_HK_WAKE) {
        uint64_t v;
        ssize_t r = read(e->wakefd, &v, sizeof v);
        (void)r;
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
      if (n == 0 && e->closed_since_trim >= TRIM_AFTER) {
        malloc_trim(0);
        e->closed_since_trim = 0;
      }
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
