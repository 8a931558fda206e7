#include <stdlib.h>
#include <string.h>
#include "events.h"

int ws_events_init (ws_events *q, uint32_t cap) {
  memset(q, 0, sizeof *q);
  q->slots = calloc(cap, sizeof *q->slots);
  if (!q->slots) return -1;
  q->cap = cap;
  pthread_mutex_init(&q->mu, NULL);
  return 0;
}

void ws_events_free (ws_events *q) {
  if (!q->slots) return;
  pthread_mutex_destroy(&q->mu);
  free(q->slots);
  q->slots = NULL;
}

size_t ws_events_push (ws_events *q, const ws_event *ev) {
  pthread_mutex_lock(&q->mu);
  size_t n = 0;
  if (q->count == q->cap) q->dropped++;
  else {
    q->slots[(q->head + q->count) % q->cap] = *ev;
    n = ++q->count;
  }
  pthread_mutex_unlock(&q->mu);
  return n;
}

size_t ws_events_pop (ws_events *q, ws_event *out, size_t max) {
  pthread_mutex_lock(&q->mu);
  size_t n = 0;
  while (n < max && q->count > 0) {
    out[n++] = q->slots[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
  }
  pthread_mutex_unlock(&q->mu);
  return n;
}

void ws_copy (char *dst, size_t cap, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = 0;
}
