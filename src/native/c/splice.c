/* Both directions of an established connection: client TLS records to the backend and
 * backend bytes to the client, through two fixed buffers, with half-close (a client
 * close_notify shuts the backend's write side; the backend's end brings our
 * close_notify), until both sides are done. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include "conn.h"

int ws_splice (ws_conn *c) {
  for (int progress = 1; progress;) {
    progress = 0;
    if (!c->client_eof && c->c2b_len == 0) {
      int n = SSL_read(c->ssl, c->c2b, sizeof c->c2b);
      if (n > 0) { c->c2b_len = (size_t)n; c->c2b_off = 0; c->last_client = ws_mono_ms(); progress = 1; }
      else {
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_WRITE) c->want_write = 1;
        else if (err == SSL_ERROR_ZERO_RETURN) { c->client_eof = 1; progress = 1; }
        else if (err != SSL_ERROR_WANT_READ) {
          char reason[160];
          ws_tls_reason(reason, sizeof reason, "client connection reset");
          ws_conn_close(c, WS_ST_PROXY, reason);
          return -1;
        }
      }
    }
    if (c->state == WS_CS_SPLICE && c->c2b_len > c->c2b_off) {
      ssize_t w = send(c->bfd, c->c2b + c->c2b_off, c->c2b_len - c->c2b_off, MSG_NOSIGNAL);
      if (w > 0) {
        c->c2b_off += (size_t)w;
        if (c->c2b_off == c->c2b_len) c->c2b_len = c->c2b_off = 0;
        c->last_backend = ws_mono_ms();
        progress = 1;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) { ws_conn_close(c, WS_ST_PROXY, strerror(errno)); return -1; }
    }
    if (c->state == WS_CS_SPLICE && c->client_eof && c->c2b_len == 0 && !c->backend_shut) {
      shutdown(c->bfd, SHUT_WR);
      c->backend_shut = 1;
    }
    if (c->state == WS_CS_SPLICE && !c->backend_eof && c->b2c_len == 0) {
      ssize_t r = recv(c->bfd, c->b2c, sizeof c->b2c, 0);
      if (r > 0) { c->b2c_len = (size_t)r; c->b2c_off = 0; c->last_backend = ws_mono_ms(); progress = 1; }
      else if (r == 0) { c->backend_eof = 1; progress = 1; }
      else if (errno != EAGAIN && errno != EWOULDBLOCK) { ws_conn_close(c, WS_ST_PROXY, strerror(errno)); return -1; }
    }
    if (c->b2c_len > c->b2c_off) {
      int n = SSL_write(c->ssl, c->b2c + c->b2c_off, (int)(c->b2c_len - c->b2c_off));
      if (n > 0) {
        c->b2c_off += (size_t)n;
        if (c->b2c_off == c->b2c_len) c->b2c_len = c->b2c_off = 0;
        c->last_client = ws_mono_ms();
        progress = 1;
      } else {
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_WRITE) c->want_write = 1;
        else if (err != SSL_ERROR_WANT_READ) {
          char reason[160];
          ws_tls_reason(reason, sizeof reason, "client connection reset");
          ws_conn_close(c, WS_ST_PROXY, reason);
          return -1;
        }
      }
    }
    if (c->backend_eof && c->b2c_len == 0 && !c->client_shut) {
      SSL_shutdown(c->ssl); /* close_notify, best effort */
          ERR_clear_error();
      shutdown(c->cfd, SHUT_WR);
      c->client_shut = 1;
      progress = 1;
    }
  }
  if (c->client_eof && c->client_shut && c->backend_eof && c->backend_shut) { ws_conn_close(c, -1, NULL); return -1; }
  return 0;
}
