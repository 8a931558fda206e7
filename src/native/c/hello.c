/* limits.max_client_hello and limits.max_client_hello_records, enforced as the bytes reach
 * OpenSSL (whose own bound for a ClientHello is 128 KiB): a filter BIO over the socket
 * BIO follows the record headers and the first handshake message's 4-byte header, as
 * engine node's records.ts readHandshakeMessage does, and stops the read as soon as the
 * declared length or the record count is over. Nothing else is parsed: a first record
 * that is not a handshake record, or a first message that is not a ClientHello, is left
 * to OpenSSL, which answers it with its own alert. Once the hello is whole the filter
 * only passes bytes on.
 *
 * The SSL object itself is made only once the first record is whole (ws_hello_ready).
 *
 * Over the limit the client gets a fatal illegal_parameter alert (what OpenSSL sends for
 * a handshake message over its own bound) instead of a bare close, then the connection is
 * closed and logged at stage client_hello with engine node's words. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/bio.h>
#include "conn.h"

#define CONTENT_HANDSHAKE 22
#define CLIENT_HELLO 1
#define ALERT_ILLEGAL_PARAMETER 47

static void refuse (ws_conn *c, const char *fmt, long a, long b) {
  snprintf(c->scan.refused, sizeof c->scan.refused, fmt, a, b);
  c->scan.done = 1;
}

/* Follows `n` bytes OpenSSL is about to get; -1 when the hello is over a limit. */
static int scan (ws_conn *c, const uint8_t *p, size_t n) {
  ws_hello_scan *s = &c->scan;
  const ws_frontend *f = c->fe;
  size_t i = 0;
  while (i < n && !s->done) {
    if (s->head_have < 5) {
      /* the first byte of a record the unfinished hello needs: one record too many? */
      if (s->head_have == 0 && s->records >= (uint32_t)f->max_hello_records && p[i] == CONTENT_HANDSHAKE) {
        refuse(c, "ClientHello spans more than %ld records", f->max_hello_records, 0);
        return -1;
      }
      s->head[s->head_have++] = p[i++];
      if (s->head_have < 5) continue;
      if (s->head[0] != CONTENT_HANDSHAKE || s->head[1] != 3) { s->done = 1; break; } /* SSLv2, not TLS, or a record OpenSSL refuses */
      s->left = (uint32_t)((s->head[3] << 8) | s->head[4]);
      s->records++;
      /* declared lengths alone show the message cannot end in the records allowed */
      if (s->records >= (uint32_t)f->max_hello_records && s->length >= 0 && (int64_t)s->gathered + s->left < 4 + s->length) {
        refuse(c, "ClientHello spans more than %ld records", f->max_hello_records, 0);
        return -1;
      }
      if (s->left == 0) s->head_have = 0;
      continue;
    }
    size_t take = n - i < s->left ? n - i : s->left;
    for (size_t k = 0; k < take && s->hs_have < 4; k++) s->hs[s->hs_have++] = p[i + k];
    i += take;
    s->left -= (uint32_t)take;
    s->gathered += (uint32_t)take;
    if (s->left == 0) s->head_have = 0;
    if (s->length < 0 && s->hs_have == 4) {
      if (s->hs[0] != CLIENT_HELLO) { s->done = 1; break; }
      s->length = ((int64_t)s->hs[1] << 16) | (s->hs[2] << 8) | s->hs[3];
      if (s->length > f->max_hello) {
        refuse(c, "ClientHello length %ld exceeds %ld", (long)s->length, f->max_hello);
        return -1;
      }
    }
    if (s->length >= 0 && (int64_t)s->gathered >= 4 + s->length) s->done = 1;
  }
  return 0;
}

static int hello_read (BIO *b, char *buf, int len) {
  BIO *next = BIO_next(b);
  ws_conn *c = BIO_get_data(b);
  if (!next || !c) return 0;
  int n = BIO_read(next, buf, len);
  BIO_clear_retry_flags(b);
  BIO_copy_next_retry(b);
  if (n > 0 && !c->scan.done && scan(c, (const uint8_t *)buf, (size_t)n) != 0) return -1; /* no retry flag: OpenSSL stops */
  return n;
}

static int hello_write (BIO *b, const char *buf, int len) {
  BIO *next = BIO_next(b);
  ws_conn *c = BIO_get_data(b);
  if (!next) return 0;
  /* The handshake's last flight waits for its session's publish (tier.c): OpenSSL keeps it. */
  if (c && ws_tier_hold_output(c)) { BIO_clear_retry_flags(b); BIO_set_retry_write(b); return -1; }
  int n = BIO_write(next, buf, len);
  BIO_clear_retry_flags(b);
  BIO_copy_next_retry(b);
  return n;
}

static long hello_ctrl (BIO *b, int cmd, long num, void *ptr) {
  BIO *next = BIO_next(b);
  if (!next) return 0;
  if (cmd != BIO_C_DO_STATE_MACHINE) return BIO_ctrl(next, cmd, num, ptr);
  BIO_clear_retry_flags(b);
  long r = BIO_ctrl(next, cmd, num, ptr);
  BIO_copy_next_retry(b);
  return r;
}

static int hello_create (BIO *b) { BIO_set_init(b, 1); return 1; }

static BIO_METHOD *method;
static int method_type;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void make_method (void) {
  method_type = BIO_get_new_index() | BIO_TYPE_FILTER;
  BIO_METHOD *m = BIO_meth_new(method_type, "warmshake ClientHello limits");
  if (m && BIO_meth_set_read(m, hello_read) && BIO_meth_set_write(m, hello_write) && BIO_meth_set_ctrl(m, hello_ctrl) &&
      BIO_meth_set_create(m, hello_create)) method = m;
  else BIO_meth_free(m);
}

/* The socket BIO under our filter when `filter` is one of ours, else NULL. */
static BIO *our_socket (BIO *filter) {
  if (!filter || !method || BIO_method_type(filter) != method_type) return NULL;
  BIO *sock = BIO_next(filter);
  return sock && BIO_method_type(sock) == BIO_TYPE_SOCKET ? sock : NULL;
}

static int hello_bio (ws_conn *c, int fd) {
  c->scan.length = -1;
  pthread_once(&method_once, make_method);
  /* A spare SSL (ssl_spare.c) keeps its chain: pointed at this connection and its
   * descriptor, with the end-of-file and retry flags of the last one cleared (a socket
   * BIO keeps its flags across BIO_set_fd). Two BIO_new and two BIO_free fewer. */
  BIO *filter = SSL_get_rbio(c->ssl);
  BIO *sock = our_socket(filter);
  if (sock && SSL_get_wbio(c->ssl) == filter) {
    BIO_set_fd(sock, fd, BIO_NOCLOSE);
    BIO_clear_flags(sock, BIO_FLAGS_IN_EOF | BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
    BIO_clear_retry_flags(filter);
    BIO_set_data(filter, c);
    return 0;
  }
  sock = BIO_new_socket(fd, BIO_NOCLOSE);
  filter = method ? BIO_new(method) : NULL;
  if (!sock || !filter) { BIO_free(sock); BIO_free(filter); return -1; }
  BIO_set_data(filter, c);
  BIO_push(filter, sock);
  SSL_set_bio(c->ssl, filter, filter); /* the SSL owns the chain; SSL_free frees both */
  return 0;
}

int ws_hello_park (SSL *ssl) {
  BIO *filter = SSL_get_rbio(ssl);
  BIO *sock = our_socket(filter);
  if (!sock || SSL_get_wbio(ssl) != filter) return -1;
  BIO_set_data(filter, NULL);
  BIO_set_fd(sock, -1, BIO_NOCLOSE);
  return 0;
}

int ws_hello_read_any (const ws_conn *c) {
  return c->scan.head_have > 0 || c->scan.records > 0 || c->scan.done;
}

/*
 * The SSL object is made only once the client's first record is whole (or cannot become
 * one, or the client left): OpenSSL would otherwise allocate its buffers (its 16 KB
 * handshake buffer zeroed) at the first byte, and a flood of connections that send part
 * of a hello and stall (bench/flood.ts) would cost ~50 kB and the page faults each, slowing
 * the accepts enough for the listen queue to overflow. Engine node waits for the whole
 * hello before making its TLS socket the same way. 1 ready, 0 wait, -1 closed.
 */
int ws_hello_ready (ws_conn *c, uint32_t events) {
  if (c->ssl) return 1;
  /* One peek for the record's header and as much of its body as is queued tells whether
   * the record is whole, without a FIONREAD call (one system call a connection fewer).
   * c2b is unused before the handshake; the bytes are the plaintext hello, which OpenSSL
   * then reads for real, so c2b_used stays 0 and nothing secret is left in it. */
  const uint8_t *head = c->c2b;
  ssize_t n = recv(c->cfd, c->c2b, sizeof c->c2b, MSG_PEEK | MSG_DONTWAIT);
  int left = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 || n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  if (!left && n < 5 && (n < 1 || head[0] == 22)) return 0;
  size_t need = n >= 5 ? 5 + (size_t)((head[3] << 8) | head[4]) : 0;
  /* a record OpenSSL refuses (not a handshake, too long) goes to it at once for its alert;
   * a record longer than c2b (a 16 KB hello) goes once c2b is full */
  if (!left && n >= 5 && head[0] == 22 && need <= 5 + 16384 && (size_t)n < need && (size_t)n < sizeof c->c2b) return 0;
  c->ssl = ws_ssl_take(c->fe);
  if (!c->ssl || hello_bio(c, c->cfd) != 0) { ws_conn_close(c, WS_ST_HANDSHAKE, "SSL_new failed"); return -1; }
  SSL_set_app_data(c->ssl, c);
  return 1;
}

void ws_hello_refuse (ws_conn *c) {
  static const uint8_t alert[7] = { 21, 3, 3, 0, 2, 2, ALERT_ILLEGAL_PARAMETER };
  ssize_t sent = send(c->cfd, alert, sizeof alert, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)sent;
  /* What the client already sent is read and dropped, so the close is a FIN after the
   * alert rather than a reset that could discard it before the client reads it. */
  shutdown(c->cfd, SHUT_WR);
  for (int i = 0; i < 8 && read(c->cfd, c->c2b, sizeof c->c2b) > 0; i++) {}
  ws_conn_close(c, WS_ST_CLIENT_HELLO, c->scan.refused);
}
