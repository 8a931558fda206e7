/* Micro-benchmark of the native engine's allow/deny lookup (src/native/c/access.c)
 * against the linear scan it replaced: ns per lookup for lists of growing length, the
 * addresses drawn at random (nearly all misses: every prefix-length group is searched,
 * the costly case). Built and run by bench/native-access.ts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine.h"

/* keeps the lookups from being optimised away */
volatile int sink;

static uint64_t state = 0x9e3779b97f4a7c15u;
static uint32_t next (void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (uint32_t)state; }

static int linear (const ws_cidr *list, int n, const uint8_t *addr, size_t len) {
  for (int i = 0; i < n; i++) {
    if (list[i].len != len) continue;
    unsigned bits = list[i].prefix;
    int in = 1;
    for (size_t k = 0; bits > 0 && k < len; k++, bits = bits >= 8 ? bits - 8 : 0) {
      uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
      if ((addr[k] & mask) != (list[i].bytes[k] & mask)) { in = 0; break; }
    }
    if (in) return 1;
  }
  return 0;
}

static double now_ns (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main (void) {
  static const uint8_t v4[] = { 32, 24, 16, 28 }, v6[] = { 128, 64, 48, 56 };
  const int sizes[] = { 16, 256, 3000, 100000 };
  enum { LOOKUPS = 200000 };
  uint8_t (*addrs)[17] = malloc(sizeof *addrs * LOOKUPS);
  for (int i = 0; i < LOOKUPS; i++) {
    addrs[i][0] = (i & 1) ? 4 : 16;
    for (int k = 1; k < 17; k++) addrs[i][k] = (uint8_t)next();
  }
  printf("%8s %8s %14s %14s\n", "entries", "groups", "sorted ns/op", "linear ns/op");
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    int n = sizes[s];
    ws_acl acl = { .nets = calloc((size_t)n, sizeof(ws_cidr)), .n = n };
    ws_cidr *copy = calloc((size_t)n, sizeof(ws_cidr));
    for (int i = 0; i < n; i++) {
      ws_cidr *c = &acl.nets[i];
      c->len = (i & 1) ? 4 : 16;
      c->prefix = c->len == 4 ? v4[(i >> 1) & 3] : v6[(i >> 1) & 3];
      for (int k = 0; k < c->len; k++) c->bytes[k] = (uint8_t)next();
    }
    memcpy(copy, acl.nets, sizeof(ws_cidr) * (size_t)n);
    ws_acl_index(&acl);
    int hits = 0;
    double t0 = now_ns();
    for (int i = 0; i < LOOKUPS; i++) hits += ws_acl_match(&acl, addrs[i] + 1, addrs[i][0]);
    double sorted = (now_ns() - t0) / LOOKUPS;
    int rounds = n > 3000 ? LOOKUPS / 100 : LOOKUPS / 10;
    t0 = now_ns();
    for (int i = 0; i < rounds; i++) hits -= linear(copy, n, addrs[i] + 1, addrs[i][0]);
    double scan = (now_ns() - t0) / rounds;
    /* every listed network is found: the index loses nothing */
    for (int i = 0; i < n; i++) if (!ws_acl_match(&acl, copy[i].bytes, copy[i].len)) { fprintf(stderr, "entry %d not found\n", i); return 1; }
    sink = hits;
    printf("%8d %8d %14.1f %14.1f\n", n, acl.ngroups, sorted, scan);
    ws_acl_free(&acl);
    free(copy);
  }
  free(addrs);
  return 0;
}
