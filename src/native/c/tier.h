/* The Redis tier seen from the engine thread. The engine cannot talk to Redis (the
 * worker's JS owns the client, its timeout and its circuit breaker), so a local miss is
 * handed to JS as a lookup and the handshake is suspended until JS answers or the
 * deadline passes; new sessions are handed to JS to publish. Two bounded queues under
 * one mutex cross the thread boundary; connections are named there by a token (slot and
 * generation), never by a pointer, so an answer for a connection that is gone is dropped. */
#ifndef WS_TIER_H
#define WS_TIER_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define WS_TIER_PENDING 256 /* lookups waiting for Redis at most, per engine */
#define WS_TIER_OUT 1024    /* lookups and publishes waiting for JS to take them */
#define WS_TIER_KEY 64      /* longest key (store max_key_bytes is 64 at most for sessions) */

/* What JS answers for a lookup (and what the engine decides itself at its deadline). */
enum ws_tier_result { WS_TR_HIT = 1, WS_TR_UNKNOWN, WS_TR_TIMEOUT, WS_TR_ERROR, WS_TR_SENT /* token: the last publish sent */ };
enum ws_tier_kind { WS_TM_LOOKUP = 1, WS_TM_PUBLISH };
/* What the tier dropped, counted in the engine's counters (counters.ts NC_TIER_DROPS, same
 * order): a lookup not asked (the pending cap or a full queue: the handshake goes on
 * full), a publish not handed over (the session never reaches Redis), an answer that
 * found no room (the handshake waits for the engine's deadline), a hold released at its
 * deadline (the worker did not say the publish had left: the client may reach another
 * node before its session). */
enum ws_tier_drop { WS_TD_LOOKUP, WS_TD_PUBLISH, WS_TD_ANSWER, WS_TD_HOLD };

typedef struct ws_tier_msg {
  uint8_t kind;
  uint32_t token;   /* lookups */
  uint8_t key[WS_TIER_KEY];
  size_t key_len;
  uint32_t seq;     /* publishes: its number */
  uint8_t *record;  /* publishes: a heap copy, cleansed and freed once JS has it */
  size_t len;
  double ttl;
} ws_tier_msg;

typedef struct ws_tier_reply { uint32_t token; uint8_t result; } ws_tier_reply;

typedef struct ws_tier {
  int enabled;
  double timeout_ms;  /* redis.timeout: the engine's own deadline adds one tick to it */
  pthread_mutex_t mu; /* guards out[] and in[] (the engine thread and the worker's JS thread) */
  ws_tier_msg out[WS_TIER_OUT];
  uint32_t out_head, out_count;
  ws_tier_reply in[WS_TIER_PENDING];
  uint32_t in_count;
  uint32_t max_pending, max_out; /* WS_TIER_PENDING and WS_TIER_OUT, smaller only in tests */
  uint64_t answers_dropped; /* answers that found in[] full (JS thread, under mu) */
  uint64_t answers_counted; /* engine thread: how many of them are in the counters */
  /* engine thread only: the connection waiting in each slot, and the slot's generation */
  struct ws_conn *waiting[WS_TIER_PENDING];
  uint32_t gen[WS_TIER_PENDING];
  int npending;
  /* Publishes are numbered; JS says up to which one it has sent (acked, under mu). A
   * connection whose session is not sent yet is held (FIFO, engine thread only). */
  uint32_t published, acked;
  struct ws_conn *held_head, *held_tail;
} ws_tier;

struct ws_engine;
struct ws_conn;

/* `max_pending`/`max_out`: the bounds (at most WS_TIER_PENDING / WS_TIER_OUT; tests make
 * them small to show what is dropped). */
int ws_tier_init (ws_tier *t, double timeout_ms, uint32_t max_pending, uint32_t max_out);
/* Frees what JS never took (records cleansed). */
void ws_tier_free (ws_tier *t);
/* Engine thread: asks JS to look `key` up for `c`. 0 asked (the handshake waits), -1 not (no room). */
int ws_tier_ask (struct ws_conn *c, const uint8_t *key, size_t key_len);
/* Engine thread: `c` is closing or timed out: its slot is freed, a later answer is dropped. */
void ws_tier_cancel (struct ws_conn *c);
/* Engine thread: hands a new session's record to JS for Redis (dropped and counted when full). */
void ws_tier_publish (struct ws_conn *c, const uint8_t *key, size_t key_len, const uint8_t *record, size_t len, double ttl);
/* Engine thread: 1 when `c` must wait for its publish to be sent (it is then held), 0 to go on. */
int ws_tier_hold (struct ws_conn *c);
/* Engine thread, from the socket filter's write (hello.c): 1 when the handshake's bytes
 * must wait because its new session has not left for Redis yet (`c` is then held). */
int ws_tier_hold_output (struct ws_conn *c);
/* Engine thread: `c`'s hold passed its deadline: counted, and nothing more is held for it (the caller goes on). */
void ws_tier_expired (struct ws_conn *c);
/* Engine thread: `c` leaves the held list (closing, or going on). */
void ws_tier_unhold (struct ws_conn *c);
/* Engine thread: resumes the handshakes JS answered (called when the wake fd fires). */
void ws_tier_answers (struct ws_engine *e);
/* JS thread: takes up to `max` messages (the caller frees each record after copying it). */
size_t ws_tier_take (ws_tier *t, ws_tier_msg *out, size_t max);
/* JS thread: an answer; 1 when the engine must be woken. */
int ws_tier_answer (ws_tier *t, uint32_t token, uint8_t result);
#endif
