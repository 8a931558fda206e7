/* Both directions of an established connection: client TLS records to the backend and
 * backend bytes to the client, through two fixed buffers, with half-close (a client
 * close_notify shuts the backend's write side; the backend's end brings our
 * close_notify), until both sides are done. Until the server's first byte the client's
 * bytes go through the bounded replay buffer, so a server that fails before answering
 * (reset, closed, silent) is replaced by another (backend.c ws_backend_unanswered). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include "conn.h"

/* The kept bytes are let go once the server answered (or they cannot be replayed) and all went out. */
static void replay_release (ws_conn *c) {
  if (!c->replay || (c->replayable && !c->answered) || c->replay_sent < c->replay_len) return;
  OPENSSL_cleanse(c->replay, c->replay_len);
  free(c->replay);
  c->replay = NULL;
  c->replay_len = c->replay_sent = 0;
}

/* Client bytes just read into c2b: kept in the replay buffer while a retry is possible. */
static void keep (ws_conn *c) {
  if (!c->replay || !c->replayable || c->answered) return;
  if (c->c2b_len > WS_REPLAY - c->replay_len) { c->replayable = 0; return; } /* sent after the replay */
  memcpy(c->replay + c->replay_len, c->c2b, c->c2b_len);
  c->replay_len += c->c2b_len;
  c->c2b_len = c->c2b_off = 0;
}

size_t ws_client_room (const ws_conn *c) {
  if (c->state == WS_CS_SPLICE) return sizeof c->c2b;
  /* Before the splice (connecting), only what the replay can take: c2b must stay free for the PROXY header. */
  if (!c->replay || !c->replayable) return 0;
  size_t room = WS_REPLAY - c->replay_len;
  return room < sizeof c->c2b ? room : sizeof c->c2b;
}

static int replay_pending (const ws_conn *c) { return c->replay && c->replay_sent < c->replay_len; }

/* The server's error once it answered: it counts against it (engine node's words), then the end. */
static int server_error (ws_conn *c, int err) {
  if (!c->answered) return ws_backend_unanswered(c, ws_errno_code(err));
  char why[96];
  snprintf(why, sizeof why, "%s after answering", ws_errno_code(err));
  ws_backend_report(c, why);
  ws_conn_close(c, WS_ST_PROXY, strerror(err));
  return -1;
}

static int to_backend (ws_conn *c, int *progress) {
  int from_replay = !c->preamble && replay_pending(c);
  const uint8_t *out = from_replay ? c->replay + c->replay_sent : c->c2b + c->c2b_off;
  size_t len = from_replay ? c->replay_len - c->replay_sent : c->c2b_len - c->c2b_off;
  if (len == 0) return 0;
  ssize_t w = send(c->bfd, out, len, MSG_NOSIGNAL);
  if (w <= 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : server_error(c, errno);
  if (from_replay) c->replay_sent += (size_t)w;
  else {
    c->c2b_off += (size_t)w;
    if (c->c2b_off == c->c2b_len) { c->c2b_len = c->c2b_off = 0; c->preamble = 0; }
  }
  c->last_backend = ws_mono_ms();
  /* timeout.server runs from the first client byte the server has to answer. */
  if (!c->answered && c->answer_deadline == 0 && (from_replay || !c->preamble) && c->fe->t_server > 0) {
    c->answer_deadline = c->last_backend + c->fe->t_server;
  }
  replay_release(c);
  *progress = 1;
  return 0;
}

int ws_splice (ws_conn *c) {
  for (int progress = 1; progress;) {
    progress = 0;
    size_t room = ws_client_room(c);
    if (!c->client_eof && c->c2b_len == 0 && room > 0) {
      int n = SSL_read(c->ssl, c->c2b, (int)room);
      if (n > 0) { c->c2b_len = (size_t)n; c->c2b_off = 0; ws_used(&c->c2b_used, c->c2b_len); keep(c); c->last_client = ws_mono_ms(); progress = 1; }
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
    if (c->state == WS_CS_SPLICE && to_backend(c, &progress) != 0) return -1;
    if (c->state == WS_CS_SPLICE && c->client_eof && c->c2b_len == 0 && !replay_pending(c) && !c->backend_shut) {
      if (!(c->backend_eof && c->client_shut)) shutdown(c->bfd, SHUT_WR); /* else close() just below sends the FIN */
      c->backend_shut = 1;
    }
    if (c->state == WS_CS_SPLICE && !c->backend_eof && c->b2c_len == 0) {
      ssize_t r = recv(c->bfd, c->b2c, sizeof c->b2c, 0);
      if (r > 0) {
        c->b2c_len = (size_t)r; c->b2c_off = 0; ws_used(&c->b2c_used, c->b2c_len); c->last_backend = ws_mono_ms(); progress = 1;
        if (!c->answered) {
          c->answered = 1;
          c->answer_deadline = 0;
          if (c->server >= 0) c->be->servers[c->server].answered = 1;
          replay_release(c);
        }
      } else if (r == 0) {
        /* Closed before a byte while the client still talks: failed; once the client ended, an empty answer may be the protocol's. */
        if (!c->answered && !c->client_eof) return ws_backend_unanswered(c, "closed the connection without answering");
        c->backend_eof = 1; progress = 1;
      }
      else if (errno != EAGAIN && errno != EWOULDBLOCK) return server_error(c, errno);
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
      if (!(c->client_eof && c->backend_shut)) shutdown(c->cfd, SHUT_WR); /* else close() just below sends the FIN */
      c->client_shut = 1;
      progress = 1;
    }
  }
  if (c->client_eof && c->client_shut && c->backend_eof && c->backend_shut) { ws_conn_close(c, -1, NULL); return -1; }
  return 0;
}
