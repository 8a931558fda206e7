/* Which server a connection tries next: the same three algorithms as engine node
 * (src/balancer/algorithms.ts), over the servers that are up, weigh more than 0 and were
 * not tried yet by this connection, in the backend the SNI chose (c->be). State (scores,
 * open connections) is per frontend and backend. */
#include <math.h>
#include <string.h>
#include "conn.h"

static int server_up (const ws_backend *b, int i) {
  return !b->up || __atomic_load_n(&b->up[i], __ATOMIC_RELAXED) != 0;
}

static int candidate (const ws_conn *c, int i) {
  const ws_backend *b = c->be;
  return b->servers[i].weight > 0 && !(c->tried & (UINT64_C(1) << i)) && server_up(b, i);
}

/* Smooth weighted round robin (nginx): every candidate gains its weight, the highest
 * wins and gives back the total, so weights 5,1,1 interleave instead of bursting. */
static int pick_roundrobin (ws_conn *c) {
  ws_backend *b = c->be;
  int best = -1;
  int64_t total = 0;
  for (int i = 0; i < b->nservers; i++) {
    if (!candidate(c, i)) continue;
    ws_server *s = &b->servers[i];
    s->score += s->weight;
    total += s->weight;
    if (best < 0 || s->score > b->servers[best].score) best = i;
  }
  if (best >= 0) b->servers[best].score -= total;
  return best;
}

/* Fewest open connections per unit of weight; the scan starts after the last pick so
 * that equals take turns (engine node rotates over its candidate list the same way). */
static int pick_leastconn (ws_conn *c) {
  ws_backend *b = c->be;
  int list[WS_MAX_SERVERS], n = 0;
  for (int i = 0; i < b->nservers; i++) if (candidate(c, i)) list[n++] = i;
  if (n == 0) return -1;
  int best = -1, at = 0;
  double best_load = INFINITY;
  for (int k = 0; k < n; k++) {
    int j = (int)((b->next + (unsigned)k) % (unsigned)n);
    const ws_server *s = &b->servers[list[j]];
    double load = (double)s->active / s->weight;
    if (load < best_load) { best = list[j]; best_load = load; at = j; }
  }
  b->next = (unsigned)(at + 1) % (unsigned)n;
  return best;
}

/* hash32 of algorithms.ts over bytes (the same for ASCII addresses and names). */
static uint32_t hash32 (const char *a, size_t alen, const char *b, size_t blen) {
  uint32_t h = 0x811c9dc5u;
  for (size_t i = 0; i < alen + 1 + blen; i++) {
    uint8_t ch = i < alen ? (uint8_t)a[i] : i == alen ? 0 : (uint8_t)b[i - alen - 1];
    h ^= ch;
    h *= 0x01000193u;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* Weighted rendezvous hashing on the client address: a server going down moves only
 * its own clients. The address is c->client without its ":port". */
static int pick_source (ws_conn *c) {
  const ws_backend *b = c->be;
  const char *colon = strrchr(c->client, ':');
  size_t alen = colon ? (size_t)(colon - c->client) : strlen(c->client);
  int best = -1;
  double best_score = -INFINITY;
  for (int i = 0; i < b->nservers; i++) {
    if (!candidate(c, i)) continue;
    const ws_server *s = &b->servers[i];
    double u = ((double)hash32(c->client, alen, s->name, s->name_len) + 0.5) / 4294967296.0;
    double score = -(double)s->weight / log(u);
    if (score > best_score) { best = i; best_score = score; }
  }
  return best;
}

int ws_balance_pick (ws_conn *c) {
  switch (c->be->balance) {
    case WS_BAL_LEASTCONN: return pick_leastconn(c);
    case WS_BAL_SOURCE: return pick_source(c);
    default: return pick_roundrobin(c);
  }
}
