/* A connection's state machine: the handshake (then backend.c connects and splice.c
 * moves the bytes), its epoll events and interest, the Redis tier's hold, timeouts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include "conn.h"

/* OpenSSL's reason ("wrong version number", "http request"), never key material. */
void ws_tls_reason (char *out, size_t cap, const char *fallback) {
  unsigned long code = ERR_get_error();
  const char *reason = code ? ERR_reason_error_string(code) : NULL;
  ws_copy(out, cap, reason ? reason : fallback);
  ERR_clear_error();
}

static void watch (ws_conn *c, int fd, ws_handle *h, uint32_t *current, uint32_t want) {
  if (fd < 0 || *current == want) return;
  struct epoll_event ev = { .events = want, .data.ptr = h };
  epoll_ctl(c->fe->engine->epfd, EPOLL_CTL_MOD, fd, &ev);
  *current = want;
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
  if (c->held) cm = 0; /* waiting for the worker, not the client: only a hangup is seen */
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
  if (err == SSL_ERROR_WANT_WRITE) { c->want_write = !c->out_held; return 0; } /* held: the worker's ack resumes it */
  char reason[160], why[120];
  unsigned long code = ERR_peek_error();
  int eof = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ||
    (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (eof && !c->hello_seen) {
    /* The same words as engine node's hello reader. */
    ERR_clear_error();
    ws_copy(why, sizeof why, ws_hello_read_any(c)
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
  /* The server that failed earlier in this batch (a reset seen on the client's event) was
   * closed and replaced: its error must not be taken for the new socket's, which had not
   * even connected (it failed a good server with the old one's ECONNRESET). */
  if (kind == WS_HK_BACKEND && c->bfd_batch == c->fe->engine->batch) return;
  if (c->tier_state == WS_TIER_ASKED || c->held) {
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
  /* The handshake's last flight was held: OpenSSL writes it now and finishes. */
  if (c->state == WS_CS_HANDSHAKE) { ws_conn_event(c, WS_HK_CLIENT, 0); return; }
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
  if (c->held && now > c->tier_deadline) { ws_tier_expired(c); ws_conn_proceed(c); return; } /* JS did not say: go on */
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
