/* The store's mutex, compatible with ShmLock (src/session-cache/shm-lock.ts): the word
 * holds the owner's tag (0 = free), seq is bumped on every acquisition, and a lock with
 * the same owner and seq for over a second is broken. V8's Atomics.wait is not a Linux
 * futex (it waits on its own condition variables), so C cannot wake JS sleepers nor be
 * woken by them: C spins, then sleeps in short steps; JS sleepers time out after 2 ms. */
#include <time.h>
#include "shm.h"

#define SPINS 256
#define STALE_MS 1000.0

static int32_t load32 (int32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

static int cas32 (int32_t *p, int32_t expect, int32_t want) {
  return __atomic_compare_exchange_n(p, &expect, want, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void bump_seq (ws_lock *l) {
  int32_t *seq = &l->words[l->seq];
  __atomic_store_n(seq, (int32_t)((uint32_t)load32(seq) + 1u), __ATOMIC_SEQ_CST);
}

static double mono_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int ws_lock_acquire (ws_lock *l) {
  int32_t *word = &l->words[l->lock];
  if (cas32(word, 0, l->tag)) { bump_seq(l); return 0; }
  int tries = 0;
  int32_t seen_owner = 0, seen_seq = 0;
  double since = 0;
  for (;;) {
    int32_t owner = load32(word);
    if (owner == 0) {
      if (cas32(word, 0, l->tag)) { bump_seq(l); return 0; }
      continue;
    }
    if (++tries < SPINS) continue;
    int32_t seq = load32(&l->words[l->seq]);
    double now = mono_ms();
    if (owner != seen_owner || seq != seen_seq) {
      seen_owner = owner;
      seen_seq = seq;
      since = now;
    } else if (now - since > STALE_MS) {
      if (cas32(word, owner, l->tag)) { bump_seq(l); return 1; }
      continue;
    }
    struct timespec step = { 0, 50 * 1000 };
    nanosleep(&step, NULL);
  }
}

void ws_lock_release (ws_lock *l) {
  cas32(&l->words[l->lock], l->tag, 0);
}
