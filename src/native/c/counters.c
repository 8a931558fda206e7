/* The engine's own counters (src/native/counters.ts lays them out, ws_layout.h carries
 * the offsets): what observe.ts counts from engine node's events, counted here for each
 * record whether or not the event ring has room for it. Relaxed atomic adds: the worker
 * reads them with Atomics.load and only needs each word to be whole. */
#include <string.h>
#include "conn.h"
#include "ws_layout.h"

_Static_assert(WS_NC_MAX_FRONTENDS == WS_MAX_FRONTENDS, "counters.ts NC_MAX_FRONTENDS");
/* Every miss cause has its word (the resumption alert names its cause from them). The
 * name WS_NC_MISSES is the block's offset (counters.ts NC.MISSES), not the list's length. */
#define MISS_WORDS (WS_NC_ERRORS - WS_NC_MISSES)
_Static_assert(MISS_WORDS == WS_MC_STORE_TIMEOUT + 1, "counters.ts NC_MISSES: one name per enum ws_miss_cause");

static void add (int64_t *word, int64_t n) { __atomic_fetch_add(word, n, __ATOMIC_RELAXED); }

void ws_count_event (ws_engine *e, int frontend, const ws_event *ev) {
  static const double bounds[WS_NC_BUCKETS] = WS_NC_BUCKET_LIST;
  int64_t *k = e->counters + (size_t)frontend * WS_NC_FRONTEND_WORDS;
  if (ev->kind == WS_EV_HANDSHAKE) {
    int v = strcmp(ev->version, "TLSv1.3") == 0 ? 1 : 0, r = ev->method != WS_M_NONE;
    add(k + WS_NC_HANDSHAKES + v * WS_NC_METHODS + (ev->method < WS_NC_METHODS ? ev->method : 0), 1);
    int b = 0;
    while (b < WS_NC_BUCKETS && ev->duration_ms / 1000 > bounds[b]) b++;
    add(k + WS_NC_DURATION + r * (WS_NC_BUCKETS + 1) + b, 1);
    add(k + WS_NC_MICROS + r, (int64_t)(ev->duration_ms * 1000 + 0.5)); /* Math.round, durations are >= 0 */
    if (ev->miss > 0 && ev->miss < MISS_WORDS) add(k + WS_NC_MISSES + ev->miss, 1);
  } else if (ev->kind == WS_EV_ERROR && ev->stage < WS_NC_STAGES) {
    add(k + WS_NC_ERRORS + ev->stage, 1);
  } else if (ev->kind == WS_EV_STORED) {
    add(k + WS_NC_STORED + (ev->resumed ? 0 : 1), 1);
  }
}
