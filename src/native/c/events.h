/* The ring of handshake and error records the engine thread writes and the worker's JS
 * thread drains into diagnostics_channel. Bounded: when JS falls behind, records are
 * dropped and counted, never waited for. */
#ifndef WS_EVENTS_H
#define WS_EVENTS_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum ws_event_kind { WS_EV_HANDSHAKE = 1, WS_EV_ERROR, WS_EV_STORED, WS_EV_SERVER };
enum ws_method { WS_M_NONE = 0, WS_M_ID, WS_M_TICKET, WS_M_STATEFUL };
enum ws_miss_cause { WS_MC_NONE = 0, WS_MC_UNKNOWN, WS_MC_EXPIRED, WS_MC_WRONG_SNI, WS_MC_UNKNOWN_KEY, WS_MC_TICKET_REJECTED, WS_MC_REJECTED, WS_MC_STORE_ERROR, WS_MC_STORE_TIMEOUT };
enum ws_stage { WS_ST_HANDSHAKE = 0, WS_ST_CLIENT_HELLO, WS_ST_TIMEOUT, WS_ST_BACKEND, WS_ST_PROXY, WS_ST_LIMIT, WS_ST_SHUTDOWN, WS_ST_ACCESS };

typedef struct ws_event {
  uint8_t kind, resumed, method, miss, stage;
  int16_t frontend;
  int16_t backend; /* WS_EV_SERVER: index in the frontend's backends (0 = its default) */
  int16_t server; /* WS_EV_SERVER: index in that backend; `resumed` = answered since the last failure */
  double duration_ms;
  char client[64];
  char sni[256];
  char version[16];
  char cipher[64];
  char alpn[64];
  char offered[72];
  char reason[160];
} ws_event;

typedef struct ws_events {
  pthread_mutex_t mu;
  ws_event *slots;
  uint32_t head, count, cap;
  uint64_t dropped;
} ws_events;

int ws_events_init (ws_events *q, uint32_t cap);
void ws_events_free (ws_events *q);
/* Records in the ring after this one went in; 0 when the ring was full (dropped). */
size_t ws_events_push (ws_events *q, const ws_event *ev);
size_t ws_events_pop (ws_events *q, ws_event *out, size_t max);
/* Copies a C string into a fixed field, truncating, always NUL-terminated. */
void ws_copy (char *dst, size_t cap, const char *src);
#endif
