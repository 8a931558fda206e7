/* Spare SSL objects: a connection that ended cleanly leaves its SSL, cleared, for the
 * next connection of the same frontend on this engine thread.
 *
 * Why: OpenSSL 3.5 builds a read and a write record layer (zeroed allocations) at
 * SSL_new, again at SSL_set_accept_state and again at the handshake's own SSL_clear;
 * SSL_new, SSL_set_accept_state and SSL_free cost ~48,000 instructions a connection
 * (callgrind, docs/profiling-native.md), against ~19,000 for making a spare (dropping
 * the session, SSL_clear). The BIO pair stays with the SSL (hello.c ws_hello_park): the next
 * connection points it at its own descriptor and clears the flags a socket BIO keeps
 * across a change of descriptor (end of file, retry).
 *
 * What keeps it safe (SSL_clear(3): the object keeps settings of its last connection):
 * - only after a completed handshake and a clean end (no TLS or socket error, no
 *   timeout): never an object that saw an error or a half-done handshake;
 * - only an object still on the frontend's first SSL_CTX, the one SSL_new used: the SNI
 *   callback's SSL_set_SSL_CTX is not undone (its certificate and session id context
 *   stay), so such an object is freed; a spare whose context is no longer the frontend's
 *   first is freed when taken (a spare holds a reference: the address cannot be reused);
 * - the session is dropped before the clear (SSL_clear keeps a good one), and SSL_clear
 *   frees the record layers with their traffic keys (OpenSSL cleanses them) and the
 *   handshake state, so no secret of the last connection stays in a spare. The clear
 *   cannot wait for the next connection either: on an SSL whose handshake is done,
 *   SSL_do_handshake returns 1 at once without running one;
 * - OpenSSL resets its per-handshake extension state (SNI host name, ALPN, PSK) at every
 *   ClientHello, as it must for renegotiation;
 * - its app data goes with the connection, its BIOs are parked: a spare points at no
 *   connection and at no descriptor (the socket BIO's is -1, the filter's data NULL). Spares are per engine thread (the frontend's array is the engine's
 *   own) and go at an idle trim (engine.c) and at the engine's end (ws_engine_free). */
#include <openssl/ssl.h>
#include "conn.h"

SSL *ws_ssl_take (ws_frontend *f) {
  SSL_CTX *ctx = f->certs[0].ctx;
  while (f->nspare > 0) {
    SSL *ssl = f->spare[--f->nspare];
    f->spare[f->nspare] = NULL;
    if (SSL_get_SSL_CTX(ssl) == ctx) return ssl; /* a server still: SSL_clear keeps the accept state */
    SSL_free(ssl);
  }
  SSL *ssl = SSL_new(ctx);
  if (ssl) SSL_set_accept_state(ssl);
  return ssl;
}

/* 1 when `ssl` may serve another connection: see above. */
static int reusable (const ws_conn *c, SSL *ssl, int clean) {
  const ws_frontend *f = c->fe;
  return clean && c->state == WS_CS_SPLICE && f->nspare < WS_SSL_SPARES && SSL_get_SSL_CTX(ssl) == f->certs[0].ctx &&
    !SSL_in_init(ssl) && SSL_is_init_finished(ssl) && SSL_get_rbio(ssl) != NULL;
}

void ws_ssl_release (ws_conn *c, int clean) {
  SSL *ssl = c->ssl;
  c->ssl = NULL;
  if (!ssl) return;
  /* A session whose handshake completed stays good however the connection ends: without
   * this, SSL_free (or SSL_clear) would remove it from the cache when the client closed
   * after our close_notify without sending its own (nginx does the same in
   * ngx_ssl_shutdown). */
  if (c->state != WS_CS_HANDSHAKE) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  ws_frontend *f = c->fe;
  if (!reusable(c, ssl, clean)) { SSL_free(ssl); return; }
  SSL_set_app_data(ssl, NULL);
  if (ws_hello_park(ssl) != 0) SSL_set_bio(ssl, NULL, NULL); /* kept for the next connection (hello.c), else freed */
  if (SSL_set_session(ssl, NULL) != 1 || SSL_clear(ssl) != 1) { SSL_free(ssl); return; }
  f->spare[f->nspare++] = ssl;
}

void ws_ssl_spares_free (ws_frontend *f) {
  while (f->nspare > 0) {
    SSL_free(f->spare[--f->nspare]);
    f->spare[f->nspare] = NULL;
  }
}
