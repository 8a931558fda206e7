/* allow/deny at accept, before any TLS work, as engine node's isAllowed
 * (src/frontend/access.ts): deny wins; with an allow list only listed addresses pass.
 * An IPv4-mapped IPv6 peer is matched as IPv4, as cidr.ts folds it.
 *
 * A list is as long as the config makes it. It is sorted by family, prefix length and
 * (masked) address, and grouped by (family, prefix length): a lookup masks the peer's
 * address once per group and binary-searches that group, so its cost grows with the
 * number of distinct prefix lengths (at most 33 + 129) times log2 of the list, not with
 * its length (bench/native-access.c). No N-API here: addon_backends.c reads the lists. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"

static void mask (uint8_t *out, const uint8_t *addr, size_t len, unsigned prefix) {
  for (size_t i = 0; i < len; i++, prefix = prefix >= 8 ? prefix - 8 : 0) {
    out[i] = prefix >= 8 ? addr[i] : (uint8_t)(addr[i] & (uint8_t)(0xff << (8 - prefix)));
  }
}

static int compare (const void *pa, const void *pb) {
  const ws_cidr *a = pa, *b = pb;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  if (a->prefix != b->prefix) return a->prefix < b->prefix ? -1 : 1;
  return memcmp(a->bytes, b->bytes, a->len);
}

void ws_acl_index (ws_acl *a) {
  for (int i = 0; i < a->n; i++) mask(a->nets[i].bytes, a->nets[i].bytes, a->nets[i].len, a->nets[i].prefix);
  if (a->n > 1) qsort(a->nets, (size_t)a->n, sizeof *a->nets, compare);
  a->ngroups = 0;
  for (int i = 0; i < a->n; i++) {
    ws_cidr_group *g = a->ngroups > 0 ? &a->groups[a->ngroups - 1] : NULL;
    if (g && g->len == a->nets[i].len && g->prefix == a->nets[i].prefix) { g->count++; continue; }
    /* (len, prefix) pairs are 4/0..32 and 16/0..128: at most WS_CIDR_GROUPS, checked at read. */
    g = &a->groups[a->ngroups++];
    *g = (ws_cidr_group){ a->nets[i].len, a->nets[i].prefix, i, 1 };
  }
}

int ws_acl_match (const ws_acl *a, const uint8_t *addr, size_t len) {
  uint8_t key[16];
  for (int g = 0; g < a->ngroups; g++) {
    const ws_cidr_group *gr = &a->groups[g];
    if (gr->len != len) continue;
    mask(key, addr, len, gr->prefix);
    int lo = gr->start, hi = gr->start + gr->count - 1;
    while (lo <= hi) {
      int mid = lo + (hi - lo) / 2;
      int d = memcmp(a->nets[mid].bytes, key, len);
      if (d == 0) return 1;
      if (d < 0) lo = mid + 1; else hi = mid - 1;
    }
  }
  return 0;
}

void ws_acl_free (ws_acl *a) {
  free(a->nets);
  a->nets = NULL;
  a->n = a->ngroups = 0;
}

int ws_access_allowed (const ws_frontend *f, const struct sockaddr *peer) {
  if (f->allow.n == 0 && f->deny.n == 0) return 1;
  const uint8_t *addr;
  size_t len;
  if (peer->sa_family == AF_INET) {
    addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)peer)->sin_addr;
    len = 4;
  } else if (peer->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;
    int mapped = IN6_IS_ADDR_V4MAPPED(a);
    addr = a->s6_addr + (mapped ? 12 : 0);
    len = mapped ? 4 : 16;
  } else {
    return 0;
  }
  if (ws_acl_match(&f->deny, addr, len)) return 0;
  return f->allow.n == 0 || ws_acl_match(&f->allow, addr, len);
}
