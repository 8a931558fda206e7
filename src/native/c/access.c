/* allow/deny at accept, before any TLS work, as engine node's isAllowed
 * (src/frontend/access.ts): deny wins; with an allow list only listed addresses pass.
 * An IPv4-mapped IPv6 peer is matched as IPv4, as cidr.ts folds it. */
#include <netinet/in.h>
#include <string.h>
#include "addon.h"
#include "conn.h"

static int contains (const ws_cidr *c, const uint8_t *addr, size_t len) {
  if (len != c->len) return 0;
  unsigned bits = c->prefix;
  for (size_t i = 0; bits > 0 && i < len; i++, bits = bits >= 8 ? bits - 8 : 0) {
    uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
    if ((addr[i] & mask) != (c->bytes[i] & mask)) return 0;
  }
  return 1;
}

static int listed (const ws_cidr *list, int n, const uint8_t *addr, size_t len) {
  for (int i = 0; i < n; i++) if (contains(&list[i], addr, len)) return 1;
  return 0;
}

int ws_access_allowed (const ws_frontend *f, const struct sockaddr *peer) {
  if (f->nallow == 0 && f->ndeny == 0) return 1;
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
  if (listed(f->deny, f->ndeny, addr, len)) return 0;
  return f->nallow == 0 || listed(f->allow, f->nallow, addr, len);
}

/* Reads `name` (an array of { bytes, prefix }, bytes 4 or 16 long) into `out`. */
static int read_list (napi_env env, napi_value o, const char *name, ws_cidr *out, int *n) {
  napi_value list;
  uint32_t count;
  if (ws_get_prop(env, o, name, &list) || ws_array_length(env, list, &count)) return -1;
  if (count > WS_MAX_CIDRS) { ws_throw(env, "native engine: too many allow/deny entries"); return -1; }
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    uint8_t *bytes;
    size_t len;
    int64_t prefix;
    if (ws_element(env, list, i, &v) || ws_get_bytes(env, v, "bytes", &bytes, &len, NULL) || ws_get_int(env, v, "prefix", &prefix)) return -1;
    if ((len != 4 && len != 16) || prefix < 0 || prefix > (int64_t)len * 8) { ws_throw(env, "native engine: a bad allow/deny network"); return -1; }
    memcpy(out[i].bytes, bytes, len);
    out[i].len = (uint8_t)len;
    out[i].prefix = (uint8_t)prefix;
    *n = (int)i + 1;
  }
  return 0;
}

int ws_read_access (napi_env env, napi_value o, ws_frontend *f) {
  return read_list(env, o, "allow", f->allow, &f->nallow) || read_list(env, o, "deny", f->deny, &f->ndeny) ? -1 : 0;
}
