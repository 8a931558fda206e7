/* A connection's life: accept (allow/deny, limits), its events published, and the one
 * close path everything ends in; the handshake and what follows are conn_state.c's. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "conn.h"
#include "proxy_v2.h"
#include "ws_layout.h"

void ws_hex (char *out, size_t cap, const uint8_t *bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  size_t i = 0;
  for (; i < n && 2 * i + 2 < cap; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * i] = 0;
}

/* Whether the worker wants this record in the ring (the mask it writes at NC_RECORDS,
 * src/native/counters.ts): at log level warn nothing uses a handshake's record, and
 * waking the worker's JS thread to drain, split and publish it cost some 50,000
 * instructions a handshake (docs/profiling-native.md). Without counters (none given, or detached) every record goes,
 * as before there was a mask; server failures always go (the worker's pools judge them). */
static int wanted (const ws_engine *e, const ws_event *ev) {
  if (!e->counters || ev->kind == WS_EV_SERVER) return 1;
  int64_t mask = __atomic_load_n(e->counters + WS_NC_RECORDS, __ATOMIC_RELAXED);
  if (ev->kind == WS_EV_HANDSHAKE) return (mask & WS_RECORD_HANDSHAKE) != 0;
  if (ev->kind == WS_EV_STORED) return (mask & WS_RECORD_STORED) != 0;
  return ev->stage < WS_NC_STAGES && ((mask >> (WS_RECORD_ERROR_SHIFT + ev->stage)) & 1) != 0;
}

void ws_conn_publish (ws_conn *c, ws_event *ev) {
  ws_engine *e = c->fe->engine;
  ev->frontend = (int16_t)c->fe->index;
  ev->duration_ms = ws_mono_ms() - c->started;
  if (e->counters) ws_count_event(e, c->fe->index, ev);
  if (!wanted(e, ev)) return;
  ws_copy(ev->client, sizeof ev->client, c->client);
  /* The worker is told once per WS_NOTIFY_MS, not per record: each wake-up of its JS
   * thread (the threadsafe call, a drain, a JS call) cost about as much again as the
   * records it carried. A ring filling up is told at once. */
  size_t waiting = ws_events_push(&e->events, ev);
  if (waiting == 0) {
    if (e->counters) __atomic_fetch_add(e->counters + WS_NC_DROPPED, 1, __ATOMIC_RELAXED);
    return;
  }
  if (waiting >= e->events.cap / 2) ws_engine_notify(e);
  else if (e->notify_due == 0) e->notify_due = ws_mono_ms() + WS_NOTIFY_MS;
}

void ws_conn_close (ws_conn *c, int stage, const char *reason) {
  ws_engine *e = c->fe->engine;
  if (stage >= 0) {
    ws_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WS_EV_ERROR;
    ev.stage = (uint8_t)stage;
    ws_copy(ev.reason, sizeof ev.reason, reason);
    ws_conn_publish(c, &ev);
  }
  ws_tier_cancel(c);
  ws_tier_unhold(c);
  if (c->found) { SSL_SESSION_free(c->found); c->found = NULL; }
  ws_ssl_release(c, stage < 0); /* stage < 0: an end without error */
  if (c->replay) { OPENSSL_cleanse(c->replay, c->replay_len); free(c->replay); c->replay = NULL; }
  /* Out of epoll before close(): a process forked meanwhile (the worker's own spawns, or an
   * embedding process's: tests run peers from the process that runs the engine) holds the
   * descriptor until it execs, which keeps the registration alive past close(), and its
   * next event would name this connection once freed (ASan saw it; HAProxy's fd_delete
   * removes a polled fd from epoll first too). Two calls per connection, kept because no
   * cheaper way is safe (docs/native.md, Robustness): skipping them until a fork was seen
   * (pthread_atfork) misses glibc's posix_spawn, system() and popen() (clone with
   * CLONE_VFORK, no atfork handlers) and _Fork(); Node 24's libuv forks with fork() today
   * (checked), but any library in the process may spawn the other way. Recognising a late
   * event (a generation in the epoll data) would stop the use-after-free, not the event:
   * a level-triggered registration on a socket the peer closed would wake epoll_wait at
   * every call until the child execs, and a closed number cannot be taken out of epoll. */
  if (c->cfd >= 0) { epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->cfd, NULL); close(c->cfd); }
  if (c->bfd >= 0) { epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->bfd, NULL); close(c->bfd); }
  ws_backend_release(c);
  if (c->budgeted) ws_client_release(c->fe, c->addr);
  c->budgeted = 0;
  c->ssl = NULL;
  c->cfd = c->bfd = -1;
  if (c->prev) c->prev->next = c->next; else e->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  __atomic_fetch_sub(&e->nconns, 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_sub(&c->fe->nconns, 1, __ATOMIC_SEQ_CST);
  c->closed = 1;
  c->prev = NULL;
  c->next = e->closed;
  e->closed = c;
}

void ws_conn_free_closed (ws_engine *e) {
  while (e->closed) {
    ws_conn *c = e->closed;
    e->closed = c->next;
    e->closed_since_trim++;
    OPENSSL_cleanse(c->c2b, c->c2b_used);
    OPENSSL_cleanse(c->b2c, c->b2c_used);
    free(c);
  }
}

ws_conn *ws_conn_accept (ws_frontend *f, int fd, const struct sockaddr *peer, socklen_t peer_len) {
  (void)peer_len;
  ws_engine *e = f->engine;
  ws_conn *c = malloc(sizeof *c);
  if (!c) { close(fd); return NULL; }
  memset(c, 0, offsetof(ws_conn, c2b));
  c->fe = f;
  c->state = WS_CS_HANDSHAKE;
  c->cfd = fd;
  c->bfd = -1;
  c->ch = (ws_handle){ WS_HK_CLIENT, c };
  c->bh = (ws_handle){ WS_HK_BACKEND, c };
  c->started = c->last_client = c->last_backend = ws_mono_ms();
  c->deadline = c->started + f->t_handshake;
  c->server = -1;
  char ip[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (peer->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const void *)peer;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
  } else if (peer->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const void *)peer;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    port = ntohs(a->sin6_port);
  }
  snprintf(c->client, sizeof c->client, "%s:%d", ip, port);
  /* TCP_NODELAY normally comes from the listener (engine.c ws_engine_listen). */
  int nodelay = f->nodelay_inherited > 0;
  if (f->nodelay_inherited < 0) {
    socklen_t on_len = sizeof nodelay;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &on_len) != 0) nodelay = 0;
    f->nodelay_inherited = nodelay ? 1 : f->nodelay_inherited + 1;
  }
  if (!nodelay) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  c->next = e->conns;
  if (e->conns) e->conns->prev = c;
  e->conns = c;
  __atomic_fetch_add(&e->nconns, 1, __ATOMIC_SEQ_CST);
  /* Before the limit and any TLS work: a refused address costs an accept and a close. */
  if (!ws_access_allowed(f, peer)) {
    __atomic_add_fetch(&f->nconns, 1, __ATOMIC_SEQ_CST);
    ws_conn_close(c, WS_ST_ACCESS, "address not allowed on this frontend");
    return NULL;
  }
  if (__atomic_add_fetch(&f->nconns, 1, __ATOMIC_SEQ_CST) > f->max_conns && f->max_conns > 0) {
    char reason[96];
    snprintf(reason, sizeof reason, "more than %d concurrent connections on this frontend", f->max_conns);
    ws_conn_close(c, WS_ST_LIMIT, reason);
    return NULL;
  }
  if (f->per_client_conns > 0) {
    ws_client_key(peer, c->addr);
    int taken = ws_client_acquire(f, c->addr);
    if (taken != 1) {
      char reason[160];
      if (taken == 0) snprintf(reason, sizeof reason, "more than %d concurrent connections from %s", f->per_client_conns, ip);
      else snprintf(reason, sizeof reason, "per-client connection table full (%u addresses)", f->conn_budget.n);
      ws_conn_close(c, WS_ST_LIMIT, reason);
      return NULL;
    }
    c->budgeted = 1;
  } else if (f->per_client_sessions > 0) {
    ws_client_key(peer, c->addr);
  }
  /* No SSL yet (hello.c ws_hello_ready). Edge-triggered until then: the bytes stay queued while it
   * waits for more, and level-triggered they would wake the loop without end. EPOLLRDHUP
   * says a client left before its record was whole. */
  struct epoll_event ev = { .events = WS_WAIT_RECORD, .data.ptr = &c->ch };
  c->cmask = WS_WAIT_RECORD;
  if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) { ws_conn_close(c, WS_ST_HANDSHAKE, "epoll_ctl failed"); return NULL; }
  return c;
}
