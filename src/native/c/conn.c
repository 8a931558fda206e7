/* A connection's life: accept, handshake (then backend.c connects and splice.c moves the
 * bytes), events, timeouts, and the one close path everything ends in. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
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

void ws_conn_publish (ws_conn *c, ws_event *ev) {
  ws_engine *e = c->fe->engine;
  ev->frontend = (int16_t)c->fe->index;
  ws_copy(ev->client, sizeof ev->client, c->client);
  ev->duration_ms = ws_mono_ms() - c->started;
  if (e->counters) ws_count_event(e, c->fe->index, ev);
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

static void watch (ws_conn *c, int fd, ws_handle *h, uint32_t *current, uint32_t want) {
  if (fd < 0 || *current == want) return;
  struct epoll_event ev = { .events = want, .data.ptr = h };
  epoll_ctl(c->fe->engine->epfd, EPOLL_CTL_MOD, fd, &ev);
  *current = want;
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
  if (c->ssl) {
    /* A session whose handshake completed stays good however the connection ends: without
     * this, SSL_free would remove it from the cache when the client closed after our
     * close_notify without sending its own (nginx does the same in ngx_ssl_shutdown). */
    if (c->state != WS_CS_HANDSHAKE) SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c->ssl);
  }
  if (c->replay) { OPENSSL_cleanse(c->replay, c->replay_len); free(c->replay); c->replay = NULL; }
  if (c->cfd >= 0) close(c->cfd);
  if (c->bfd >= 0) close(c->bfd);
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
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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

/* OpenSSL's reason ("wrong version number", "http request"), never key material. */
void ws_tls_reason (char *out, size_t cap, const char *fallback) {
  unsigned long code = ERR_get_error();
  const char *reason = code ? ERR_reason_error_string(code) : NULL;
  ws_copy(out, cap, reason ? reason : fallback);
  ERR_clear_error();
}

static int handshake_done (ws_conn *c);
static int start_backend (ws_conn *c);

static void rearm (ws_conn *c) {
  uint32_t cm = 0, bm = 0;
  if (c->want_write) cm |= EPOLLOUT;
  if (c->state == WS_CS_HANDSHAKE && !c->ssl) cm = WS_WAIT_RECORD;
  /* Waiting for the Redis tier: nothing is read (OpenSSL would not read it), only a hangup is seen. */
  else if (c->state == WS_CS_HANDSHAKE) { if (!c->want_write && c->tier_state != WS_TIER_ASKED) cm |= EPOLLIN; }
  else if (!c->client_eof && c->c2b_len == 0 && ws_client_room(c) > 0) cm |= EPOLLIN;
  if (c->state == WS_CS_CONNECTING) bm = EPOLLOUT;
  else if (c->state == WS_CS_SPLICE && !(c->backend_eof && c->backend_shut)) {
    if (!c->backend_eof && c->b2c_len == 0) bm |= EPOLLIN;
    if (c->c2b_len > c->c2b_off || (c->replay && c->replay_sent < c->replay_len)) bm |= EPOLLOUT;
  }
  watch(c, c->cfd, &c->ch, &c->cmask, cm);
  watch(c, c->bfd, &c->bh, &c->bmask, bm);
}

static int handshake (ws_conn *c, uint32_t events) {
  int ready = ws_hello_ready(c, events);
  if (ready <= 0) return ready;
  int n = SSL_do_handshake(c->ssl);
  if (n == 1) return handshake_done(c);
  if (c->scan.refused[0]) { ERR_clear_error(); ws_hello_refuse(c); return -1; }
  int err = SSL_get_error(c->ssl, n);
  if (err == SSL_ERROR_WANT_READ) return 0;
  if (err == SSL_ERROR_WANT_CLIENT_HELLO_CB) return 0; /* suspended for the Redis tier (tier_hello.c) */
  if (err == SSL_ERROR_WANT_WRITE) { c->want_write = 1; return 0; }
  char reason[160], why[120];
  unsigned long code = ERR_peek_error();
  int eof = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ||
    (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (eof && !c->hello_seen) {
    /* The same words as engine node's hello reader. */
    ERR_clear_error();
    ws_copy(why, sizeof why, BIO_number_read(SSL_get_rbio(c->ssl)) > 0
      ? "connection closed in the middle of the ClientHello" : "connection closed before any byte");
  } else {
    ws_tls_reason(why, sizeof why, eof ? "client closed the connection during the handshake" : "handshake failed");
  }
  snprintf(reason, sizeof reason, "%s%s", c->hello_v2 ? "SSLv2 ClientHello: " : "", why);
  ws_conn_close(c, c->hello_seen && !c->hello_v2 ? WS_ST_HANDSHAKE : WS_ST_CLIENT_HELLO, reason);
  return -1;
}

void ws_conn_event (ws_conn *c, int kind, uint32_t events) {
  if (c->closed) return;
  if (c->tier_state == WS_TIER_ASKED || c->state == WS_CS_HELD) {
    if (events & (EPOLLERR | EPOLLHUP)) ws_conn_close(c, WS_ST_HANDSHAKE, "client closed the connection during the handshake");
    else rearm(c);
    return;
  }
  c->want_write = 0;
  if (c->state == WS_CS_HANDSHAKE) {
    if (handshake(c, kind == WS_HK_CLIENT ? events : 0) != 0) return;
    if (c->state == WS_CS_HANDSHAKE || c->state == WS_CS_HELD) { rearm(c); return; }
    kind = 0; /* the backend socket is fresh: wait for its own event */
  }
  if (c->state == WS_CS_CONNECTING && kind == WS_HK_BACKEND) {
    if (ws_backend_connected(c) != 0) return;
  }
  if (ws_splice(c) != 0) return;
  if ((events & (EPOLLERR | EPOLLHUP)) && kind == WS_HK_BACKEND && c->state == WS_CS_SPLICE && !c->answered && !c->backend_eof) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) err = ECONNRESET;
    ws_backend_unanswered(c, ws_errno_code(err));
    return;
  } else if ((events & (EPOLLERR | EPOLLHUP)) && kind == WS_HK_BACKEND && c->state == WS_CS_SPLICE) {
    /* The backend is gone both ways: nothing more will come from it. */
    c->backend_eof = c->backend_shut = 1;
    if (ws_splice(c) != 0) return;
  } else if ((events & (EPOLLERR | EPOLLHUP)) && kind == WS_HK_CLIENT && c->state != WS_CS_HANDSHAKE) {
    ws_conn_close(c, -1, NULL);
    return;
  }
  rearm(c);
}

static int handshake_done (ws_conn *c) {
  SSL *ssl = c->ssl;
  ws_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = WS_EV_HANDSHAKE;
  ev.resumed = (uint8_t)SSL_session_reused(ssl);
  int tls13 = SSL_version(ssl) == TLS1_3_VERSION;
  if (ev.resumed) ev.method = c->cache_hit ? (tls13 ? WS_M_STATEFUL : WS_M_ID) : WS_M_TICKET;
  else if (c->ticket_state == WS_TK_UNKNOWN_KEY) ev.miss = WS_MC_UNKNOWN_KEY;
  else if (c->ticket_state == WS_TK_DECRYPTED) ev.miss = WS_MC_TICKET_REJECTED;
  else if (c->cache_hit) ev.miss = WS_MC_REJECTED;
  else if (c->lookup_done) ev.miss = (uint8_t)c->cache_miss;
  if (ev.miss) ws_copy(ev.offered, sizeof ev.offered, c->offered);
  ws_copy(ev.sni, sizeof ev.sni, c->sni);
  ws_copy(ev.version, sizeof ev.version, SSL_get_version(ssl));
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  ws_copy(ev.cipher, sizeof ev.cipher, cipher ? SSL_CIPHER_standard_name(cipher) : "");
  const unsigned char *alpn = NULL;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len > 0 && alpn_len < sizeof ev.alpn) { memcpy(ev.alpn, alpn, alpn_len); ev.alpn[alpn_len] = 0; }
  ws_conn_publish(c, &ev);
  if (ws_tier_hold(c)) return 0;
  return start_backend(c);
}

/* Connects to a server (backend.c); -1 when the connection was closed. */
static int start_backend (ws_conn *c) {
  /* Allocated only now: a stalled handshake costs no replay room. NULL means no retry. */
  c->replay = malloc(WS_REPLAY);
  c->replayable = c->replay != NULL;
  c->be = ws_route_backend(c->fe, c->sni);
  if (ws_backend_connect(c) == 0) return 0;
  char reason[160];
  snprintf(reason, sizeof reason, "backend %.64s: no server is available (all marked down)", c->be->name);
  ws_conn_close(c, WS_ST_BACKEND, reason);
  return -1;
}

void ws_conn_proceed (ws_conn *c) {
  ws_tier_unhold(c);
  if (start_backend(c) != 0 || ws_splice(c) != 0) return;
  rearm(c);
}

void ws_conn_tick (ws_conn *c, double now) {
  const ws_frontend *f = c->fe;
  char reason[96];
  if (c->tier_state == WS_TIER_ASKED && now > c->tier_deadline) {
    /* JS did not answer in time (its thread is busy): the handshake goes on without Redis. */
    ws_tier_cancel(c);
    c->tier_result = WS_TR_TIMEOUT;
    ws_conn_event(c, WS_HK_CLIENT, 0);
    return;
  }
  if (c->state == WS_CS_HELD && now > c->tier_deadline) { ws_conn_proceed(c); return; } /* JS did not say: go on */
  if (c->state == WS_CS_SPLICE && !c->answered && c->answer_deadline > 0 && now > c->answer_deadline) {
    snprintf(reason, sizeof reason, "no answer within %.0f ms", f->t_server);
    ws_backend_unanswered(c, reason);
  } else if (c->state == WS_CS_HANDSHAKE && now > c->deadline) {
    snprintf(reason, sizeof reason, "handshake not done within %.0f ms", f->t_handshake);
    ws_conn_close(c, WS_ST_TIMEOUT, reason);
  } else if (c->state == WS_CS_CONNECTING && now > c->deadline) {
    snprintf(reason, sizeof reason, "connect failed: connect timed out after %.0f ms", f->t_connect);
    ws_backend_report(c, reason);
    ws_backend_failed(c, "connect timeout");
  } else if (c->state == WS_CS_SPLICE && (now - c->last_client > f->t_client || now - c->last_backend > f->t_server)) {
    ws_conn_close(c, WS_ST_PROXY, now - c->last_client > f->t_client ? "client timeout" : "server timeout");
  }
}
