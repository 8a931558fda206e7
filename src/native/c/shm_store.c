/* The shared store's get/set/delete in C: the same index, age list and insert policy
 * as shm-table.ts (the block chains: shm_blocks.c) (expire up to two stale entries, then
 * evict the oldest until there is room; freed blocks zeroed at once; DIRTY marks a
 * change in progress so a takeover wipes a half-changed store). Every structural
 * index read from shared memory is range-checked before use. */
#include <string.h>
#include <time.h>
#include "shm.h"
#include "ws_layout.h"

#define NONE WS_STORE_NONE
#define EXPIRE_ON_INSERT 2
#define ENT(s, i, f) ((s)->entries[(size_t)(i) * WS_STORE_ENTRY_INT32S + (f)])
#define EXPIRY(s, i) ((s)->times[(size_t)(i) * WS_STORE_ENTRY_FLOAT64S + WS_STORE_EXPIRES])

double ws_now_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1e3 + (double)(ts.tv_nsec / 1000000);
}

static void count (ws_store *s, int c) { __atomic_fetch_add(&s->counters[c], 1, __ATOMIC_SEQ_CST); }
static void add_entries (ws_store *s, int32_t n) { __atomic_fetch_add(&s->header[WS_H_ENTRIES], n, __ATOMIC_SEQ_CST); }

int ws_store_attach (ws_store *s, uint8_t *base, size_t bytes, const ws_store_offsets *o, int32_t tag) {
  memset(s, 0, sizeof *s);
  if (bytes < WS_STORE_HEADER_INT32S * 4 || ((uintptr_t)base & 7) != 0) return -1;
  int32_t *h = (int32_t *)(void *)base;
  if (h[WS_H_MAGIC] != WS_STORE_MAGIC || h[WS_H_VERSION] != WS_STORE_LAYOUT_VERSION) return -1;
  if (o->bytes != (int64_t)bytes || h[WS_H_SIZE] < 0 || h[WS_H_BLOCK_BYTES] < 16 || h[WS_H_BLOCK_COUNT] < 0 ||
      h[WS_H_BUCKET_COUNT] < 1 || (h[WS_H_BUCKET_COUNT] & (h[WS_H_BUCKET_COUNT] - 1)) != 0) return -1;
  /* Every region must lie inside the buffer. */
  int64_t ends[] = {
    o->counters + WS_STORE_COUNTERS * 8, o->lifetime + 8, o->buckets + (int64_t)h[WS_H_BUCKET_COUNT] * 4,
    o->entries + (int64_t)h[WS_H_SIZE] * WS_STORE_ENTRY_INT32S * 4, o->block_next + (int64_t)h[WS_H_BLOCK_COUNT] * 4,
    o->data + (int64_t)h[WS_H_BLOCK_COUNT] * h[WS_H_BLOCK_BYTES],
  };
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) if (ends[i] > (int64_t)bytes) return -1;
  if ((o->counters & 7) || (o->entries & 7) || (o->lifetime & 7)) return -1;
  s->base = base;
  s->bytes = bytes;
  s->header = h;
  s->counters = (int64_t *)(void *)(base + o->counters);
  s->buckets = (int32_t *)(void *)(base + o->buckets);
  s->entries = (int32_t *)(void *)(base + o->entries);
  s->times = (double *)(void *)(base + o->entries);
  s->block_next = (int32_t *)(void *)(base + o->block_next);
  s->data = base + o->data;
  s->size = h[WS_H_SIZE];
  s->bucket_count = h[WS_H_BUCKET_COUNT];
  s->block_count = h[WS_H_BLOCK_COUNT];
  s->block_bytes = h[WS_H_BLOCK_BYTES];
  s->max_key = h[WS_H_MAX_KEY];
  s->max_value = h[WS_H_MAX_ENTRY];
  s->seed = (uint32_t)h[WS_H_SEED];
  memcpy(&s->lifetime_ms, base + o->lifetime, 8);
  s->lock = (ws_lock){ .words = h, .lock = WS_H_LOCK, .seq = WS_H_LOCK_SEQ, .waiters = WS_H_WAITERS, .tag = tag };
  return 0;
}

static int32_t hash_key (const ws_store *s, const uint8_t *key, size_t klen) {
  /* FNV-1a with the buffer's seed, as ShmTable#hash. */
  uint32_t h = s->seed ^ 0x811c9dc5u;
  for (size_t i = 0; i < klen; i++) h = (h ^ key[i]) * 0x01000193u;
  return (int32_t)h;
}

static int valid_entry (const ws_store *s, int32_t i) { return i >= 0 && i < s->size; }
static int32_t find (ws_store *s, const uint8_t *key, size_t klen, int32_t hash) {
  int guard = s->size;
  for (int32_t i = s->buckets[hash & (s->bucket_count - 1)]; i != NONE && guard-- > 0; i = ENT(s, i, WS_E_NEXT)) {
    if (!valid_entry(s, i)) return NONE;
    if (ENT(s, i, WS_E_HASH) != hash) continue;
    uint32_t key_run = (uint32_t)ENT(s, i, WS_E_KEY_RUN);
    if ((key_run & 0xffff) == klen && ws_chain_io(s, ENT(s, i, WS_E_FIRST), 0, NULL, key, klen) == 0) return i;
  }
  return NONE;
}
static void remove_entry (ws_store *s, int32_t i) {
  int32_t *h = s->header;
  int32_t bucket = ENT(s, i, WS_E_HASH) & (s->bucket_count - 1);
  int32_t j = s->buckets[bucket];
  if (j == i) s->buckets[bucket] = ENT(s, i, WS_E_NEXT);
  else {
    while (valid_entry(s, j) && ENT(s, j, WS_E_NEXT) != i) j = ENT(s, j, WS_E_NEXT);
    if (valid_entry(s, j)) ENT(s, j, WS_E_NEXT) = ENT(s, i, WS_E_NEXT);
  }
  int32_t prev = ENT(s, i, WS_E_PREV_AGE), next = ENT(s, i, WS_E_NEXT_AGE);
  if (prev == NONE) h[WS_H_OLDEST] = next; else ENT(s, prev, WS_E_NEXT_AGE) = next;
  if (next == NONE) h[WS_H_NEWEST] = prev; else ENT(s, next, WS_E_PREV_AGE) = prev;
  if (ws_valid_block(s, ENT(s, i, WS_E_FIRST))) ws_pool_release(s, ENT(s, i, WS_E_FIRST));
  memset(&ENT(s, i, 0), 0, WS_STORE_ENTRY_INT32S * 4);
  ENT(s, i, WS_E_NEXT) = h[WS_H_FREE_ENTRY];
  h[WS_H_FREE_ENTRY] = i;
  add_entries(s, -1);
}

/* ShmTable#wipe: after a takeover from an owner that died mid-change. */
static void wipe (ws_store *s) {
  int32_t *h = s->header;
  h[WS_H_DIRTY] = 1;
  memset(s->data, 0, (size_t)s->block_count * (size_t)s->block_bytes);
  memset(s->entries, 0, (size_t)s->size * WS_STORE_ENTRY_INT32S * 4);
  for (int32_t b = 0; b < s->bucket_count; b++) s->buckets[b] = NONE;
  for (int32_t i = 0; i < s->size; i++) ENT(s, i, WS_E_NEXT) = i + 1 < s->size ? i + 1 : NONE;
  h[WS_H_FREE_ENTRY] = s->size > 0 ? 0 : NONE;
  h[WS_H_OLDEST] = NONE;
  h[WS_H_NEWEST] = NONE;
  __atomic_store_n(&h[WS_H_ENTRIES], 0, __ATOMIC_SEQ_CST);
  for (int32_t b = 0; b < s->block_count; b++) s->block_next[b] = b + 1 < s->block_count ? b + 1 : NONE;
  h[WS_H_FREE_BLOCK] = s->block_count > 0 ? 0 : NONE;
  h[WS_H_FREE_BLOCKS] = s->block_count;
  h[WS_H_DIRTY] = 0;
}

static void lock (ws_store *s) {
  if (ws_lock_acquire(&s->lock)) {
    count(s, WS_C_LOCK_RECOVERIES);
    if (s->header[WS_H_DIRTY] != 0) { wipe(s); count(s, WS_C_RESETS); }
  }
}

/* A read the caller already counted (quiet): the native engine's second look after the
 * Redis tier filled the entry (engine node's TieredStore counts that one as a Redis hit). */
static void tally (ws_store *s, int quiet, int c) { if (!quiet) count(s, c); }

int ws_store_read (ws_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap, size_t *len, int *miss, double *ttl, int quiet) {
  int rc = 0;
  lock(s);
  int32_t i = klen > (size_t)s->max_key ? NONE : find(s, key, klen, hash_key(s, key, klen));
  if (i == NONE) {
    tally(s, quiet, WS_C_MISSES);
    *miss = WS_MISS_UNKNOWN;
    goto done;
  }
  double now = ws_now_ms();
  if (EXPIRY(s, i) <= now) {
    s->header[WS_H_DIRTY] = 1;
    remove_entry(s, i);
    s->header[WS_H_DIRTY] = 0;
    tally(s, quiet, WS_C_EXPIRED);
    tally(s, quiet, WS_C_MISSES);
    *miss = WS_MISS_EXPIRED;
    goto done;
  }
  size_t vlen = (size_t)ENT(s, i, WS_E_VALUE_LEN);
  size_t kl = (uint32_t)ENT(s, i, WS_E_KEY_RUN) & 0xffff;
  if (vlen > cap) { rc = -1; tally(s, quiet, WS_C_MISSES); *miss = WS_MISS_UNKNOWN; goto done; }
  if (ws_chain_io(s, ENT(s, i, WS_E_FIRST), kl, out, NULL, vlen) != 0) { tally(s, quiet, WS_C_MISSES); *miss = WS_MISS_UNKNOWN; goto done; }
  *len = vlen;
  *ttl = EXPIRY(s, i) - now;
  tally(s, quiet, WS_C_HITS);
  rc = 1;
done:
  ws_lock_release(&s->lock);
  return rc;
}

int ws_store_get (ws_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap, size_t *len, int *miss, double *ttl) {
  return ws_store_read(s, key, klen, out, cap, len, miss, ttl, 0);
}

int ws_store_set (ws_store *s, const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen, double ttl_ms) {
  if (s->size == 0 || !(ttl_ms > 0)) return 0;
  if (klen > (size_t)s->max_key || vlen > (size_t)s->max_value) { count(s, WS_C_OVERSIZE); return 0; }
  size_t total = klen + vlen;
  int32_t need = (int32_t)(total == 0 ? 1 : (total + (size_t)s->block_bytes - 1) / (size_t)s->block_bytes);
  int32_t hash = hash_key(s, key, klen);
  int rc = 0;
  lock(s);
  int32_t *h = s->header;
  double now = ws_now_ms();
  h[WS_H_DIRTY] = 1;
  int32_t old = find(s, key, klen, hash);
  if (old != NONE) remove_entry(s, old);
  for (int n = 0; n < EXPIRE_ON_INSERT; n++) {
    int32_t oldest = h[WS_H_OLDEST];
    if (oldest == NONE || EXPIRY(s, oldest) > now) break;
    remove_entry(s, oldest);
    count(s, WS_C_EXPIRED);
  }
  while (h[WS_H_FREE_ENTRY] == NONE || h[WS_H_FREE_BLOCKS] < need) {
    int32_t oldest = h[WS_H_OLDEST];
    if (oldest == NONE) { h[WS_H_DIRTY] = 0; count(s, WS_C_ERRORS); goto done; }
    remove_entry(s, oldest);
    count(s, WS_C_EVICTIONS);
  }
  int32_t i = h[WS_H_FREE_ENTRY];
  h[WS_H_FREE_ENTRY] = ENT(s, i, WS_E_NEXT);
  int32_t first = ws_pool_alloc(s, need);
  ws_pool_write(s, first, key, klen, value, vlen);
  int32_t bucket = hash & (s->bucket_count - 1);
  ENT(s, i, WS_E_HASH) = hash;
  ENT(s, i, WS_E_KEY_RUN) = (int32_t)((uint32_t)klen | ((uint32_t)s->last_run << 16));
  ENT(s, i, WS_E_VALUE_LEN) = (int32_t)vlen;
  ENT(s, i, WS_E_FIRST) = first;
  ENT(s, i, WS_E_NEXT) = s->buckets[bucket];
  s->buckets[bucket] = i;
  ENT(s, i, WS_E_TTL) = ttl_ms > 2147483647.0 ? 2147483647 : (int32_t)ttl_ms;
  EXPIRY(s, i) = now + ttl_ms;
  int32_t newest = h[WS_H_NEWEST];
  ENT(s, i, WS_E_PREV_AGE) = newest;
  ENT(s, i, WS_E_NEXT_AGE) = NONE;
  if (newest == NONE) h[WS_H_OLDEST] = i; else ENT(s, newest, WS_E_NEXT_AGE) = i;
  h[WS_H_NEWEST] = i;
  add_entries(s, 1);
  h[WS_H_DIRTY] = 0;
  count(s, WS_C_STORES);
  rc = 1;
done:
  ws_lock_release(&s->lock);
  return rc;
}

int ws_store_delete (ws_store *s, const uint8_t *key, size_t klen) {
  if (klen > (size_t)s->max_key) return 0;
  lock(s);
  int32_t i = find(s, key, klen, hash_key(s, key, klen));
  if (i != NONE) {
    s->header[WS_H_DIRTY] = 1;
    remove_entry(s, i);
    s->header[WS_H_DIRTY] = 0;
  }
  ws_lock_release(&s->lock);
  return i != NONE;
}
