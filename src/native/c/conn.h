/* One client connection: its state, both sockets, the TLS object, two fixed buffers. */
#ifndef WS_CONN_H
#define WS_CONN_H
#include "engine.h"

/* WS_CS_HELD: handshake done, the backend connect waits until the worker has sent the
 * connection's new session to Redis (tier.c), so that the client, once answered, finds
 * it on any node. */
enum ws_state { WS_CS_HANDSHAKE = 1, WS_CS_CONNECTING, WS_CS_SPLICE, WS_CS_HELD };
enum ws_ticket_state { WS_TK_NONE = 0, WS_TK_UNKNOWN_KEY, WS_TK_DECRYPTED };
enum ws_tier_state { WS_TIER_NONE = 0, WS_TIER_ASKED, WS_TIER_ANSWERED };

/* What hello.c has seen of the first handshake message, and why it stopped it. */
typedef struct ws_hello_scan {
  uint8_t head[5], hs[4];
  uint32_t head_have, hs_have, left, records, gathered;
  int64_t length; /* the ClientHello's declared length; -1 until its header is in */
  int done;       /* the hello is whole, or not ours to judge (OpenSSL answers) */
  char refused[96];
} ws_hello_scan;

typedef struct ws_conn {
  struct ws_conn *prev, *next;
  ws_frontend *fe;
  enum ws_state state;
  int closed;
  int cfd, bfd;
  ws_handle ch, bh;
  uint32_t cmask, bmask;
  uint64_t bfd_batch; /* the engine's batch in which bfd was registered */
  SSL *ssl;
  int cert;
  int hello_seen;
  int hello_v2; /* an SSLv2-format ClientHello (OpenSSL tells) */
  int want_write;
  char client[64];
  uint8_t addr[16];   /* the client's address as clients.c keys it */
  int budgeted;       /* counted in the frontend's per-client connection budget */
  ws_hello_scan scan; /* hello.c: the ClientHello's size as its bytes reach OpenSSL */
  char sni[WS_NAME_MAX + 1];
  double started, deadline, last_client, last_backend;
  /* what the session callbacks saw, for the handshake record */
  int lookup_done, cache_hit, cache_miss, ticket_state;
  int stored; /* the session went to the store already */
  char offered[72];
  /* The Redis tier (tier.c): the ClientHello callback looks the offered key up itself,
   * asks Redis on a local miss (the handshake waits, suspended by OpenSSL), and hands
   * the session it found to the get callback. */
  enum ws_tier_state tier_state;
  int tier_slot, tier_result;
  double tier_deadline;
  SSL_SESSION *found;   /* looked up in the ClientHello callback, not yet taken by OpenSSL */
  int prefetched;       /* the lookup of `key` is done (found or not) */
  uint8_t key[WS_TIER_KEY];
  size_t key_len;
  uint32_t publish_seq;                 /* the last of its sessions handed to JS for Redis; 0 none */
  int held;                              /* in the engine's list of held connections (WS_CS_HELD, or out_held) */
  int out_held;     /* the server's last flight waits in OpenSSL for the publish (tier.c ws_tier_hold_output) */
  int out_released; /* that wait ended at its deadline: the flight goes out, nothing more is held */
  struct ws_conn *held_prev, *held_next;
  ws_backend *be; /* chosen by the SNI once the handshake is done (routes.c); NULL before */
  uint64_t tried; /* servers of `be` tried, one bit each (WS_MAX_SERVERS is 64) */
  int server;     /* the server of `be` connected or connecting, counted in its `active`; -1 none */
  int client_eof, backend_eof, client_shut, backend_shut;
  /* Until the server's first byte the client's bytes are kept (up to WS_REPLAY) and sent
   * from `replay`, so a server that resets or stays silent can be replaced by another. */
  int answered;
  int preamble;          /* c2b holds the PROXY header: it goes before the replay */
  uint8_t *replay;       /* WS_REPLAY bytes, from the handshake to the first answer; NULL after */
  size_t replay_len, replay_sent;
  int replayable;        /* 0 once the client sent more than WS_REPLAY before an answer */
  double answer_deadline; /* timeout.server from the first byte sent; 0 = not armed */
  size_t c2b_len, c2b_off, b2c_len, b2c_off;
  /* The most either buffer ever held (every fill starts at 0): only that much is zeroed at
   * free, not both 16 KB, which cost 20,000 instructions a connection that sends nothing. */
  size_t c2b_used, b2c_used;
  uint8_t c2b[WS_BUF];
  uint8_t b2c[WS_BUF];
} ws_conn;

ws_conn *ws_conn_accept (ws_frontend *f, int fd, const struct sockaddr *peer, socklen_t peer_len);
/* Runs the connection as far as it can go; `side` is the handle that fired, with its epoll bits. */
void ws_conn_event (ws_conn *c, int kind, uint32_t events);
/* Timeouts; called by the loop every tick. */
void ws_conn_tick (ws_conn *c, double now);
/* The one close path: frees everything, records why when `stage` >= 0. */
void ws_conn_close (ws_conn *c, int stage, const char *reason);
/* counters.c: counts a record in the engine's shared counters. */
void ws_count_event (ws_engine *e, int frontend, const ws_event *ev);
/* Records an event for this connection (client, frontend, duration filled in). */
void ws_conn_publish (ws_conn *c, ws_event *ev);
/* A held connection (WS_CS_HELD) goes on to its backend. */
void ws_conn_proceed (ws_conn *c);
/* Frees the connections closed since the last call. */
void ws_conn_free_closed (ws_engine *e);
/* OpenSSL's reason for the last error ("wrong version number"), never key material. */
void ws_tls_reason (char *out, size_t cap, const char *fallback);
/* hello.c: makes the SSL (with the hello-size filter over the socket) once the first
 * record is whole; 1 ready, 0 wait (epoll WS_WAIT_RECORD), -1 closed. */
#define WS_WAIT_RECORD (EPOLLIN | EPOLLRDHUP | EPOLLET)
int ws_hello_ready (ws_conn *c, uint32_t events);
/* hello.c: the alert for a refused ClientHello, then the close (stage client_hello). */
void ws_hello_refuse (ws_conn *c);
/* hello.c: a spare SSL keeps its BIO chain, pointing at no connection and no descriptor;
 * -1 when the chain is not hello.c's (then the caller drops it). */
int ws_hello_park (SSL *ssl);
/* hello.c: whether any byte of the client's reached OpenSSL (the BIOs' own counts run
 * across the connections of a spare SSL). */
int ws_hello_read_any (const ws_conn *c);
/* backend.c: 0 when a connect is under way, -1 when no server is left (not closed). */
int ws_backend_connect (ws_conn *c);
/* The connection stops counting against its server. */
void ws_backend_release (ws_conn *c);
/* balance.c: the server to try next, -1 when none is left. */
int ws_balance_pick (ws_conn *c);
/* The connect failed: the next server, or the connection is closed. */
void ws_backend_failed (ws_conn *c, const char *why);
/* The connect finished: 0 spliced, -1 failed over or closed. */
int ws_backend_connected (ws_conn *c);
/* The server failed before its first byte (reset, closed, silent): reported to the
 * worker, and the kept bytes go to the next server when they are complete; -1 always
 * (the splice stops here: the connection is closed or connecting again). */
int ws_backend_unanswered (ws_conn *c, const char *failure);
/* Reports a live-traffic failure of the current server to the worker's pool. */
void ws_backend_report (ws_conn *c, const char *failure);
/* A socket errno as engine node names it ("ECONNRESET"). */
const char *ws_errno_code (int err);
/* splice.c: how many client bytes may be read now (0: none until the splice). */
size_t ws_client_room (const ws_conn *c);
/* splice.c: moves bytes while anything moves; 0 to go on, -1 when the connection was closed. */
int ws_splice (ws_conn *c);
/* Raises a buffer's high-water mark (c2b_used, b2c_used) to `len`. */
static inline void ws_used (size_t *mark, size_t len) { if (len > *mark) *mark = len; }
void ws_hex (char *out, size_t cap, const uint8_t *bytes, size_t n);
/* tls_session.c: looks a session up in the shared store and checks its record (sets cache_hit/cache_miss);
 * `quiet` counts nothing (a lookup counted already); *absent when the store has no such entry. */
SSL_SESSION *ws_session_lookup (ws_conn *c, const unsigned char *id, size_t id_len, int quiet, int *absent);
/* tls_session.c: the session cache's new, get, remove and info callbacks on a new SSL_CTX. */
void ws_session_callbacks (SSL_CTX *ctx);
/* ssl_spare.c: an SSL in accept state on the frontend's first context, a spare when
 * there is one; the connection's SSL freed or, after a clean end, cleared and kept. */
SSL *ws_ssl_take (ws_frontend *f);
void ws_ssl_release (ws_conn *c, int clean);
void ws_ssl_spares_free (ws_frontend *f);
/* tier_hello.c: the ClientHello callback's part with a Redis tier (SSL_CLIENT_HELLO_SUCCESS or _RETRY). */
int ws_tier_hello (ws_conn *c);
#endif
