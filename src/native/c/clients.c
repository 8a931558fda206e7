/* Per-client budgets of one frontend on one engine thread, as engine node's ClientBudgets
 * (src/frontend/access.ts), which is per frontend and worker thread too: concurrent
 * connections per address (limits.per_client_connections), and new sessions cached per
 * address per wall-clock second (limits.per_client_new_sessions). Two bounded
 * open-addressing tables keyed by the 16 address bytes (IPv4 as ::ffff:a.b.c.d), with a
 * random hash key so a client cannot choose colliding addresses. Only the engine thread
 * touches them. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "conn.h"


static uint64_t hash (const ws_clients *t, const uint8_t addr[16]) {
  uint64_t a, b;
  memcpy(&a, addr, 8);
  memcpy(&b, addr + 8, 8);
  uint64_t h = (a ^ t->k0) * 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 29) ^ b ^ t->k1) * 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 32);
}

int ws_clients_init (ws_clients *t, uint32_t cap) {
  memset(t, 0, sizeof *t);
  uint32_t n = 64;
  while (n < cap && n < (1u << 20)) n <<= 1;
  /* calloc of this size maps zero pages: memory grows with the addresses seen, not the room */
  t->slots = calloc(n, sizeof *t->slots);
  if (!t->slots) return -1;
  t->cap = n;
  if (getrandom(&t->k0, sizeof t->k0, 0) != sizeof t->k0 || getrandom(&t->k1, sizeof t->k1, 0) != sizeof t->k1) {
    t->k0 = (uint64_t)(uintptr_t)t ^ 0x5bd1e995u;
    t->k1 = (uint64_t)(uintptr_t)t->slots;
  }
  return 0;
}

void ws_clients_free (ws_clients *t) {
  free(t->slots);
  t->slots = NULL;
  t->cap = t->n = 0;
}

/* The slot of `addr`, added (count 0) when `add` and there is room (3/4 full at most); NULL otherwise. */
static ws_client *find (ws_clients *t, const uint8_t addr[16], int add) {
  uint32_t mask = t->cap - 1;
  for (uint32_t i = (uint32_t)hash(t, addr) & mask;; i = (i + 1) & mask) {
    ws_client *s = &t->slots[i];
    if (s->used && memcmp(s->addr, addr, 16) == 0) return s;
    if (s->used) continue;
    if (!add || t->n + 1 > t->cap / 4 * 3) return NULL;
    memcpy(s->addr, addr, 16);
    s->used = 1;
    s->count = 0;
    s->second = 0;
    t->n++;
    return s;
  }
}

/* Linear probing's deletion without tombstones: later entries of the run move back. */
static void remove_slot (ws_clients *t, ws_client *s) {
  uint32_t mask = t->cap - 1, hole = (uint32_t)(s - t->slots);
  t->slots[hole].used = 0;
  t->n--;
  for (uint32_t j = (hole + 1) & mask; t->slots[j].used; j = (j + 1) & mask) {
    uint32_t home = (uint32_t)hash(t, t->slots[j].addr) & mask;
    /* the entry at j may fill the hole unless its home lies cyclically in (hole, j] */
    int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    t->slots[hole] = t->slots[j];
    t->slots[j].used = 0;
    hole = j;
  }
}

void ws_client_key (const struct sockaddr *peer, uint8_t out[16]) {
  memset(out, 0, 16);
  if (peer->sa_family == AF_INET6) {
    memcpy(out, &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr, 16);
  } else if (peer->sa_family == AF_INET) {
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, 4);
  }
}

int ws_client_acquire (ws_frontend *f, const uint8_t addr[16]) {
  ws_client *s = find(&f->conn_budget, addr, 1);
  if (!s) return -1;
  if (s->count >= (uint32_t)f->per_client_conns) return 0;
  s->count++;
  return 1;
}

void ws_client_release (ws_frontend *f, const uint8_t addr[16]) {
  ws_client *s = find(&f->conn_budget, addr, 0);
  if (s && --s->count == 0) remove_slot(&f->conn_budget, s);
}

int ws_client_new_session (ws_frontend *f, const uint8_t addr[16]) {
  if (f->per_client_sessions <= 0) return 1;
  ws_clients *t = &f->session_budget;
  uint32_t second = (uint32_t)(ws_now_ms() / 1000);
  ws_client *s = find(t, addr, 0);
  if (!s || s->second != second) {
    /* Full (3/4 of WS_SESSION_ADDRESSES): emptied, as engine node empties its map past 100,000. */
    if (!s && !(s = find(t, addr, 1))) {
      memset(t->slots, 0, (size_t)t->cap * sizeof *t->slots);
      t->n = 0;
      s = find(t, addr, 1);
    }
    if (!s) return 1;
    s->second = second;
    s->count = 1;
    return 1;
  }
  s->count++;
  return s->count <= (uint32_t)f->per_client_sessions;
}
