/* The store's data blocks, as shm-blocks.ts: an entry's key then value across a chain
 * of fixed-size blocks, free blocks on one list, freed blocks zeroed at once (an evicted
 * session's secrets must not linger), and the same run-of-adjacent-blocks count the
 * TypeScript reader relies on. The caller holds the store's lock. */
#include <string.h>
#include "shm.h"
#include "ws_layout.h"

int ws_valid_block (const ws_store *s, int32_t b) { return b >= 0 && b < s->block_count; }

/* Copies `len` bytes starting `skip` bytes into the chain at `first`, into out (or compares when cmp). */
int ws_chain_io (ws_store *s, int32_t first, size_t skip, uint8_t *out, const uint8_t *cmp, size_t len) {
  size_t bb = (size_t)s->block_bytes;
  int32_t b = first;
  while (skip >= bb) {
    if (!ws_valid_block(s, b)) return -1;
    b = s->block_next[b];
    skip -= bb;
  }
  size_t pos = 0;
  while (pos < len) {
    if (!ws_valid_block(s, b)) return -1;
    size_t n = bb - skip;
    if (n > len - pos) n = len - pos;
    const uint8_t *from = s->data + (size_t)b * bb + skip;
    if (cmp) { if (memcmp(from, cmp + pos, n) != 0) return 1; }
    else memcpy(out + pos, from, n);
    pos += n;
    skip = 0;
    b = s->block_next[b];
  }
  return 0;
}

void ws_pool_release (ws_store *s, int32_t first) {
  size_t bb = (size_t)s->block_bytes;
  int32_t last = first;
  int32_t n = 1;
  for (;;) {
    memset(s->data + (size_t)last * bb, 0, bb);
    int32_t after = s->block_next[last];
    if (!ws_valid_block(s, after)) break;
    last = after;
    n++;
  }
  s->block_next[last] = s->header[WS_H_FREE_BLOCK];
  s->header[WS_H_FREE_BLOCK] = first;
  s->header[WS_H_FREE_BLOCKS] += n;
}

/* The same chain as BlockPool#alloc, including the run of adjacent blocks it records. */
int32_t ws_pool_alloc (ws_store *s, int32_t n) {
  int32_t first = s->header[WS_H_FREE_BLOCK];
  int32_t last = first;
  int32_t run = 1;
  for (int32_t i = 1; i < n; i++) {
    int32_t after = s->block_next[last];
    if (run == i && after == last + 1 && run < WS_STORE_MAX_RUN) run++;
    last = after;
  }
  s->header[WS_H_FREE_BLOCK] = s->block_next[last];
  s->block_next[last] = WS_STORE_NONE;
  s->header[WS_H_FREE_BLOCKS] -= n;
  s->last_run = run;
  return first;
}

void ws_pool_write (ws_store *s, int32_t first, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  size_t bb = (size_t)s->block_bytes;
  int32_t blk = first;
  size_t off = 0;
  const uint8_t *parts[2] = { a, b };
  size_t lens[2] = { alen, blen };
  for (int p = 0; p < 2; p++) {
    size_t pos = 0;
    while (pos < lens[p]) {
      if (off == bb) { blk = s->block_next[blk]; off = 0; }
      size_t n = bb - off;
      if (n > lens[p] - pos) n = lens[p] - pos;
      memcpy(s->data + (size_t)blk * bb + off, parts[p] + pos, n);
      pos += n;
      off += n;
    }
  }
}
