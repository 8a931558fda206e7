/* The native engine: one epoll loop on its own thread per worker, serving the worker's
 * terminate-mode frontends end to end (accept, TLS, session cache, backend, splice).
 * Fixed limits below keep every array bounded; the binding refuses configs beyond them. */
#ifndef WS_ENGINE_H
#define WS_ENGINE_H
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include "events.h"
#include "shm.h"
#include "tier.h"

#define WS_MAX_FRONTENDS 16
#define WS_MAX_CERTS 16
#define WS_MAX_NAMES 256
#define WS_MAX_SERVERS 64
#define WS_MAX_RING_KEYS 17 /* tickets.keep <= 16, plus the key that encrypts */
#define WS_BUF 16384
#define WS_REPLAY 65536 /* client bytes kept for a retry before the first answer (engine node's REPLAY_LIMIT) */
#define WS_NAME_MAX 255
#define WS_MAX_BACKENDS 16 /* per frontend: its default and use_backend's; choice.ts keeps more on engine node */
#define WS_MAX_ROUTES 1024 /* use_backend rules per frontend; idem */
#define WS_MAX_CIDRS 1000000 /* per list, a sanity bound: lists are allocated to the config's size */
#define WS_CIDR_GROUPS 162 /* one per (family, prefix length): 33 for IPv4, 129 for IPv6 */

#define WS_SSL_SPARES 64 /* per frontend and engine: cleared SSL objects kept for reuse (ssl_spare.c) */
#define WS_SESSION_ADDRESSES (1u << 17) /* per-client new-session table: room for 98,304 addresses */

enum ws_handle_kind { WS_HK_LISTENER = 1, WS_HK_CLIENT, WS_HK_BACKEND, WS_HK_WAKE };
typedef struct ws_handle { int kind; void *owner; } ws_handle;

typedef struct ws_cert {
  SSL_CTX *ctx;
  /* HKDF info binding ticket keys to this frontend and certificate (contexts.ts boundTicketKey). */
  uint8_t info[WS_NAME_MAX + 64];
  size_t info_len;
} ws_cert;

typedef struct ws_name { char name[WS_NAME_MAX + 1]; int cert; int wildcard; } ws_name;

/* One allow/deny network: 4 or 16 address bytes (host bits cleared) and a prefix length in bits. */
typedef struct ws_cidr { uint8_t bytes[16]; uint8_t len, prefix; } ws_cidr;

/* An allow or deny list (access.c): networks sorted by family, prefix length and
 * address, so a lookup is one binary search per prefix length the list uses. */
typedef struct ws_cidr_group { uint8_t len, prefix; int start, count; } ws_cidr_group;
typedef struct ws_acl {
  ws_cidr *nets; /* malloc'd, n entries */
  int n;
  ws_cidr_group groups[WS_CIDR_GROUPS];
  int ngroups;
} ws_acl;

/* One address's budget (clients.c): open connections, or new sessions in `second`. */
typedef struct ws_client { uint8_t addr[16]; uint32_t count, second; uint8_t used; } ws_client;
typedef struct ws_clients { ws_client *slots; uint32_t cap, n; uint64_t k0, k1; } ws_clients;

enum ws_balance { WS_BAL_ROUNDROBIN = 0, WS_BAL_LEASTCONN, WS_BAL_SOURCE };

typedef struct ws_server {
  struct sockaddr_storage addr;
  socklen_t len;
  char name[WS_NAME_MAX + 1];
  size_t name_len;
  int weight;     /* 0 to 256; 0 takes no new connections */
  int64_t score;  /* smooth round robin */
  int active;     /* connections open or connecting (leastconn) */
  int answered;   /* a first answer since the last failure reported (the worker resets the streak) */
} ws_server;

/* One backend as a frontend sees it: its servers, algorithm and balancing state (per
 * frontend and worker), and the up words the worker's health checks write. */
typedef struct ws_backend {
  char name[WS_NAME_MAX + 1];
  int index;      /* in its frontend's list; named in passive-health reports */
  ws_server servers[WS_MAX_SERVERS];
  int nservers;
  /* one word per server, 1 = up, written by the worker's health checks (shared memory);
   * after a detach it points at up_own, the last states copied */
  int32_t *up;
  int32_t up_own[WS_MAX_SERVERS];
  int balance;    /* enum ws_balance */
  unsigned next;  /* leastconn: where the next scan starts */
} ws_backend;

/* A use_backend rule: an exact name, or `*.suffix` kept as ".suffix" (wildcard set). */
typedef struct ws_route { char sni[WS_NAME_MAX + 1]; size_t len; int wildcard; int backend; } ws_route;

/* Accepted sockets checked for the listener's TCP_NODELAY before giving up on it: one queued
 * before the listener had it (an engine-owned listener opened elsewhere) does not carry it. */
#define WS_NODELAY_CHECKS 8

typedef struct ws_frontend {
  struct ws_engine *engine;
  int index;
  char name[WS_NAME_MAX + 1];
  size_t name_len;
  int listen_fd;
  int shared_listener; /* listen_fd is the process's (the supervisor's): left, never closed */
  int accept_paused;
  int nodelay_inherited; /* 1 accepted sockets get TCP_NODELAY from the listener, 0 set on each, < 0 checks left (conn.c) */
  int port;
  ws_handle lh;
  ws_cert certs[WS_MAX_CERTS];
  int ncerts;
  ws_name names[WS_MAX_NAMES];
  int nnames;
  uint8_t alpn[256];
  size_t alpn_len;
  int tickets;
  double lifetime_ms;
  /* malloc'd: [0] is the default backend, then the others use_backend names */
  ws_backend *backends;
  int nbackends;
  ws_route *routes; /* malloc'd, first match wins */
  int nroutes;
  double t_handshake, t_client, t_server, t_connect;
  double keepalive_ms; /* keepalive / keepalive_delay: idle time before TCP keep-alive's first probe; 0 = off */
  int send_proxy;
  ws_acl allow, deny;
  int max_conns;
  int nconns; /* read from JS with __atomic */
  int per_client_conns, per_client_sessions; /* 0 = off */
  ws_clients conn_budget, session_budget;    /* allocated only when their limit is on */
  int max_hello, max_hello_records;          /* limits.max_client_hello(_records) */
  SSL *spare[WS_SSL_SPARES];                 /* engine thread only (ssl_spare.c) */
  int nspare;
} ws_frontend;

typedef struct ws_ring_key { uint8_t name[16]; uint8_t secret[32]; } ws_ring_key;

struct ws_conn;

typedef struct ws_engine {
  pthread_t thread;
  int started;
  int epfd, wakefd;
  ws_handle wh;
  ws_frontend fe[WS_MAX_FRONTENDS];
  int nfe;
  ws_store store;
  int has_store;
  int32_t *ring;
  size_t ring_words;
  int32_t ring_gen;
  int nkeys;
  ws_ring_key keys[WS_MAX_RING_KEYS];
  /* keys bound per frontend and certificate: [fe][cert][key] = 16 hmac + 16 aes */
  uint8_t (*bound)[WS_MAX_CERTS][WS_MAX_RING_KEYS][32];
  ws_events events;
  ws_tier tier; /* enabled with session_cache.redis */
  int64_t *counters;    /* src/native/counters.ts layout, added to with __atomic; NULL: none */
  struct ws_conn *conns;
  /* closed during this batch of events, freed after it (later events of the batch may name them) */
  struct ws_conn *closed;
  int closed_since_trim;
  int nconns;           /* read from JS with __atomic */
  /* Counts epoll_wait calls: a backend socket registered during a batch cannot be named
   * by that batch's events, so a backend event of a connection whose socket was replaced
   * in this batch is the closed socket's (conn.h bfd_batch). */
  uint64_t batch;
  int stopping;         /* written by JS, read by the loop, __atomic */
  double drain_ms;
  int stopped;          /* set by the thread when it is done, under mu */
  /* Detach (the worker's JS thread ended): requested by the env cleanup hook, done by the
   * loop between events, after which the engine touches no memory of the worker (store,
   * ticket ring, up words, the thread-safe function) and drains on its own. */
  int detach_req;       /* __atomic */
  int detached;         /* under mu */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  void (*notify) (struct ws_engine *);
  void *notify_data;
  /* When the worker is told about records waiting in the ring (ws_mono_ms); 0 = not due.
   * Engine thread only. */
  double notify_due;
} ws_engine;

/* engine.c: serve on `fd`; `shared`: the process's descriptor, never closed here */
int ws_engine_listen (ws_engine *e, ws_frontend *f, int fd, int shared, char *err, size_t errlen);
int ws_engine_run (ws_engine *e);
void ws_engine_wake (ws_engine *e);
/* Tells the worker now that records wait in the ring (and clears notify_due). */
void ws_engine_notify (ws_engine *e);
/* How long records may wait in the ring before the worker is told (conn.c). Each
 * worker's JS thread wakes up to 1000/WS_NOTIFY_MS times a second, so this fixed cost
 * grows with the worker count: 100 ms (the tick's period) instead of 20 cut the JS
 * threads' CPU per handshake with 2 workers from 32 to 12 µs at 200/s and from 17 to
 * 8 at 500/s (medians, docs/profiling-native.md); logs and the counters the worker
 * builds from events lag by as much. */
#define WS_NOTIFY_MS 100
/* The last thing a detached engine's thread does (the process's exit waits for it). */
void ws_engine_detached_end (void);
double ws_mono_ms (void);

/* listen.c: a listening socket (SO_REUSEPORT, non-blocking), or -1 with `err` naming the address */
int ws_listen_open (const char *host, int port, int backlog, int *bound_port, char *err, size_t errlen);
int ws_listen_port (int fd);
void ws_listen_keepalive (int fd, double ms);

/* tls_ctx.c */
SSL_CTX *ws_tls_ctx_new (ws_frontend *f, const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
  const char *ciphers, const char *suites, int min_version, int max_version, const char *sid_ctx, char *err, size_t errlen);
int ws_tls_select (const ws_frontend *f, const char *sni);

/* access.c: 1 when allow/deny let this peer in */
int ws_access_allowed (const ws_frontend *f, const struct sockaddr *peer);
/* Sorts and groups `a->nets` (n entries, host bits cleared) for lookups. */
void ws_acl_index (ws_acl *a);
/* 1 when `addr` (4 or 16 bytes) is in the list. */
int ws_acl_match (const ws_acl *a, const uint8_t *addr, size_t len);
void ws_acl_free (ws_acl *a);

/* routes.c: the backend for this SNI (lower case, "" for none): the first use_backend
 * rule that matches, else the default (engine node's backendForSni). */
ws_backend *ws_route_backend (const ws_frontend *f, const char *sni);
/* Frees the frontend's backends, routes and access lists. */
void ws_frontend_free (ws_frontend *f);

/* clients.c: per-client budgets (engine node's ClientBudgets) */
int ws_clients_init (ws_clients *t, uint32_t cap);
void ws_clients_free (ws_clients *t);
void ws_client_key (const struct sockaddr *peer, uint8_t out[16]);
/* 1 taken, 0 over the budget, -1 no room to track one more address */
int ws_client_acquire (ws_frontend *f, const uint8_t addr[16]);
void ws_client_release (ws_frontend *f, const uint8_t addr[16]);
/* 1 when this address may have one more new session cached this second */
int ws_client_new_session (ws_frontend *f, const uint8_t addr[16]);

/* tickets.c */
void ws_tickets_install (SSL_CTX *ctx);
void ws_tickets_refresh (ws_engine *e);
#endif
