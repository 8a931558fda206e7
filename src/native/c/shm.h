/* The shared session store and its lock, seen from C: the same SharedArrayBuffer the
 * TypeScript side (src/session-cache/shm-*.ts) uses, same layout (ws_layout.h is
 * generated from the TS constants), same lock word, same algorithms. */
#ifndef WS_SHM_H
#define WS_SHM_H
#include <stddef.h>
#include <stdint.h>

typedef struct ws_lock {
  int32_t *words;
  int lock, seq, waiters;
  int32_t tag;
} ws_lock;

/* Returns 1 when the lock was taken over from a stuck owner (the caller repairs), else 0. */
int ws_lock_acquire (ws_lock *l);
void ws_lock_release (ws_lock *l);

/* Region byte offsets, as computeLayout() gives them (passed in, never recomputed). */
typedef struct ws_store_offsets {
  int64_t counters, lifetime, buckets, entries, block_next, data, bytes;
} ws_store_offsets;

typedef struct ws_store {
  uint8_t *base;
  size_t bytes;
  int32_t *header;
  int64_t *counters;
  int32_t *buckets;
  int32_t *entries;
  double *times;
  int32_t *block_next;
  uint8_t *data;
  int32_t size, bucket_count, block_count, block_bytes, max_key, max_value;
  uint32_t seed;
  double lifetime_ms;
  ws_lock lock;
  int32_t last_run;
} ws_store;

enum ws_miss { WS_MISS_NONE = 0, WS_MISS_UNKNOWN, WS_MISS_EXPIRED };

/* 0 on success, -1 when the buffer is not a store of this layout. */
int ws_store_attach (ws_store *s, uint8_t *base, size_t bytes, const ws_store_offsets *o, int32_t tag);
/* 1 hit (value copied, *len and *ttl (ms left) set), 0 miss (*miss set), -1 value larger than cap. */
int ws_store_get (ws_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap, size_t *len, int *miss, double *ttl);
/* ws_store_get that counts nothing when `quiet` (a lookup counted already). */
int ws_store_read (ws_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap, size_t *len, int *miss, double *ttl, int quiet);
/* 1 stored, 0 refused. */
int ws_store_set (ws_store *s, const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen, double ttl_ms);
int ws_store_delete (ws_store *s, const uint8_t *key, size_t klen);
double ws_now_ms (void);

/* shm_blocks.c (the caller holds the lock) */
int ws_valid_block (const ws_store *s, int32_t b);
/* Copies `len` bytes from `skip` bytes into the chain at `first` (or compares with cmp: 1 = differs); -1 on a broken chain. */
int ws_chain_io (ws_store *s, int32_t first, size_t skip, uint8_t *out, const uint8_t *cmp, size_t len);
void ws_pool_release (ws_store *s, int32_t first);
/* A chain of n blocks (the caller made sure they are free); sets s->last_run. */
int32_t ws_pool_alloc (ws_store *s, int32_t n);
void ws_pool_write (ws_store *s, int32_t first, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
#endif
