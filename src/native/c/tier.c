/* The engine's half of the Redis tier (tier.h): lookups out, answers in, publishes out.
 * A token is slot + WS_TIER_PENDING * generation: the slot finds the waiting connection,
 * the generation says whether it is still the one that asked. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "conn.h"
#include "ws_layout.h"

_Static_assert(WS_NC_TIER_DROPS == WS_TD_HOLD + 1, "counters.ts NC_TIER_DROPS");

int ws_tier_init (ws_tier *t, double timeout_ms, uint32_t max_pending, uint32_t max_out) {
  memset(t, 0, sizeof *t);
  if (max_pending > WS_TIER_PENDING || max_out > WS_TIER_OUT) return -1;
  if (pthread_mutex_init(&t->mu, NULL) != 0) return -1;
  t->enabled = 1;
  t->timeout_ms = timeout_ms;
  t->max_pending = max_pending;
  t->max_out = max_out;
  return 0;
}

/* Engine thread: one more dropped of `kind` in the engine's shared counters. */
static void count_drop (ws_engine *e, int kind, uint64_t n) {
  if (e->counters && n > 0) __atomic_fetch_add(e->counters + WS_NC_TIER_DROPPED + kind, (int64_t)n, __ATOMIC_RELAXED);
}

static void drop_record (ws_tier_msg *m) {
  if (!m->record) return;
  OPENSSL_cleanse(m->record, m->len);
  free(m->record);
  m->record = NULL;
}

void ws_tier_free (ws_tier *t) {
  if (!t->enabled) return;
  for (uint32_t i = 0; i < t->out_count; i++) drop_record(&t->out[(t->out_head + i) % WS_TIER_OUT]);
  t->out_count = 0;
  pthread_mutex_destroy(&t->mu);
  t->enabled = 0;
}

/* 1 when the queue was empty before (JS should be told), 0 when not, -1 when full. */
static int push (ws_tier *t, const ws_tier_msg *m) {
  pthread_mutex_lock(&t->mu);
  int rc = t->out_count == 0;
  if (t->out_count >= t->max_out) rc = -1;
  else t->out[(t->out_head + t->out_count++) % WS_TIER_OUT] = *m;
  pthread_mutex_unlock(&t->mu);
  return rc;
}

static void tell_js (ws_engine *e) { if (e->notify) e->notify(e); }

int ws_tier_ask (ws_conn *c, const uint8_t *key, size_t key_len) {
  ws_engine *e = c->fe->engine;
  ws_tier *t = &e->tier;
  if (!t->enabled || key_len == 0 || key_len > WS_TIER_KEY) return -1;
  if ((uint32_t)t->npending >= t->max_pending) { count_drop(e, WS_TD_LOOKUP, 1); return -1; }
  int slot = 0;
  while (t->waiting[slot]) slot++; /* npending < max_pending <= WS_TIER_PENDING: a free one exists */
  ws_tier_msg m;
  memset(&m, 0, sizeof m);
  m.kind = WS_TM_LOOKUP;
  m.token = (uint32_t)slot + WS_TIER_PENDING * (t->gen[slot] % (UINT32_MAX / WS_TIER_PENDING));
  memcpy(m.key, key, key_len);
  m.key_len = key_len;
  int rc = push(t, &m);
  if (rc < 0) { count_drop(e, WS_TD_LOOKUP, 1); return -1; }
  t->waiting[slot] = c;
  t->npending++;
  c->tier_slot = slot;
  c->tier_state = WS_TIER_ASKED;
  c->tier_deadline = ws_mono_ms() + t->timeout_ms + 100; /* JS's own deadline ends first: its cause is the truer one */
  if (rc == 1) tell_js(e);
  return 0;
}

void ws_tier_cancel (ws_conn *c) {
  if (c->tier_state != WS_TIER_ASKED) return;
  ws_tier *t = &c->fe->engine->tier;
  t->waiting[c->tier_slot] = NULL;
  t->gen[c->tier_slot]++;
  t->npending--;
  c->tier_state = WS_TIER_ANSWERED;
}

void ws_tier_publish (ws_conn *c, const uint8_t *key, size_t key_len, const uint8_t *record, size_t len, double ttl) {
  ws_engine *e = c->fe->engine;
  ws_tier *t = &e->tier;
  if (!t->enabled || key_len == 0 || key_len > WS_TIER_KEY) return;
  ws_tier_msg m;
  memset(&m, 0, sizeof m);
  m.kind = WS_TM_PUBLISH;
  memcpy(m.key, key, key_len);
  m.key_len = key_len;
  m.record = malloc(len);
  if (!m.record) { count_drop(e, WS_TD_PUBLISH, 1); return; }
  memcpy(m.record, record, len);
  m.len = len;
  m.ttl = ttl;
  m.seq = t->published + 1 != 0 ? t->published + 1 : 1; /* 0 means none */
  int rc = push(t, &m);
  if (rc < 0) { drop_record(&m); count_drop(e, WS_TD_PUBLISH, 1); return; }
  t->published = c->publish_seq = m.seq;
  if (rc == 1) tell_js(e);
}

static int sent (ws_tier *t, uint32_t seq) {
  pthread_mutex_lock(&t->mu);
  int done = (int32_t)(t->acked - seq) >= 0;
  pthread_mutex_unlock(&t->mu);
  return done;
}

/* Joins the held list (publish order), until the ack or redis.timeout + 100 ms. */
static void hold (ws_tier *t, ws_conn *c) {
  c->held_prev = t->held_tail;
  c->held_next = NULL;
  if (t->held_tail) t->held_tail->held_next = c; else t->held_head = c;
  t->held_tail = c;
  c->held = 1;
  c->tier_deadline = ws_mono_ms() + t->timeout_ms + 100;
}

int ws_tier_hold (ws_conn *c) {
  ws_tier *t = &c->fe->engine->tier;
  if (!t->enabled || c->publish_seq == 0 || c->out_released || sent(t, c->publish_seq)) return 0;
  hold(t, c);
  c->state = WS_CS_HELD;
  return 1;
}

/*
 * The session is published before the flight that lets the client use it is written
 * (TLS 1.2: at the server's ChangeCipherSpec; TLS 1.3: as each NewSessionTicket is made),
 * so holding that flight until the write has left for Redis means a client can never
 * reach another node before its session: OpenSSL keeps the bytes (its write buffer)
 * and writes them on the next SSL_do_handshake after the socket filter said "retry".
 */
int ws_tier_hold_output (ws_conn *c) {
  ws_tier *t = &c->fe->engine->tier;
  if (!t->enabled || c->publish_seq == 0 || c->out_released || c->state != WS_CS_HANDSHAKE) return 0;
  if (c->out_held) return 1;
  if (sent(t, c->publish_seq)) return 0;
  hold(t, c);
  c->out_held = 1;
  return 1;
}

void ws_tier_expired (ws_conn *c) {
  c->out_released = c->out_held; /* the held flight goes out now, and no later one waits */
  count_drop(c->fe->engine, WS_TD_HOLD, 1);
}

void ws_tier_unhold (ws_conn *c) {
  ws_tier *t = &c->fe->engine->tier;
  if (!c->held) return;
  c->held = c->out_held = 0;
  if (c->held_prev) c->held_prev->held_next = c->held_next; else t->held_head = c->held_next;
  if (c->held_next) c->held_next->held_prev = c->held_prev; else t->held_tail = c->held_prev;
  c->held_prev = c->held_next = NULL;
}

void ws_tier_answers (ws_engine *e) {
  ws_tier *t = &e->tier;
  if (!t->enabled) return;
  ws_tier_reply got[WS_TIER_PENDING];
  pthread_mutex_lock(&t->mu);
  uint32_t n = t->in_count;
  memcpy(got, t->in, n * sizeof *got);
  t->in_count = 0;
  uint32_t acked = t->acked;
  uint64_t answers_dropped = t->answers_dropped;
  pthread_mutex_unlock(&t->mu);
  count_drop(e, WS_TD_ANSWER, answers_dropped - t->answers_counted);
  t->answers_counted = answers_dropped;
  /* Each held connection whose publish has left goes on (one may be held again, at the tail, for a later publish). */
  for (ws_conn *h = t->held_head, *next; h; h = next) {
    next = h->held_next;
    if ((int32_t)(acked - h->publish_seq) >= 0) ws_conn_proceed(h);
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t slot = got[i].token % WS_TIER_PENDING;
    ws_conn *c = t->waiting[slot];
    /* Gone, timed out, or the slot serves another connection now: nothing to resume. */
    if (!c || got[i].token / WS_TIER_PENDING != t->gen[slot] % (UINT32_MAX / WS_TIER_PENDING)) continue;
    ws_tier_cancel(c);
    c->tier_result = got[i].result;
    ws_conn_event(c, WS_HK_CLIENT, 0);
  }
}

size_t ws_tier_take (ws_tier *t, ws_tier_msg *out, size_t max) {
  if (!t->enabled) return 0;
  pthread_mutex_lock(&t->mu);
  size_t n = 0;
  while (n < max && t->out_count > 0) {
    out[n++] = t->out[t->out_head];
    t->out_head = (t->out_head + 1) % WS_TIER_OUT;
    t->out_count--;
  }
  pthread_mutex_unlock(&t->mu);
  return n;
}

int ws_tier_answer (ws_tier *t, uint32_t token, uint8_t result) {
  if (!t->enabled) return 0;
  pthread_mutex_lock(&t->mu);
  if (result == WS_TR_SENT) {
    t->acked = token;
    pthread_mutex_unlock(&t->mu);
    return 1;
  }
  int wake = t->in_count < WS_TIER_PENDING;
  if (wake) t->in[t->in_count++] = (ws_tier_reply){ token, result };
  else t->answers_dropped++; /* mostly stale answers (their slot served again); the engine's deadline covers the rest */
  pthread_mutex_unlock(&t->mu);
  return 1; /* a drop is counted on the engine thread, in ws_tier_answers */
}
