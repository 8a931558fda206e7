/* The PROXY protocol v2 header a backend gets before the client's bytes (the same TLVs
 * as src/balancer/proxy-protocol.ts: ALPN, authority = SNI, SSL with its version). */
#include <netinet/in.h>
#include <string.h>
#include "conn.h"
#include "proxy_v2.h"

static const uint8_t SIGNATURE[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

typedef struct { uint8_t *p; size_t len, cap; int overflow; } out_buf;

static void put (out_buf *b, const void *bytes, size_t n) {
  if (b->overflow || n > b->cap - b->len) { b->overflow = 1; return; }
  memcpy(b->p + b->len, bytes, n);
  b->len += n;
}

static void put16 (out_buf *b, size_t v) {
  uint8_t two[2] = { (uint8_t)(v >> 8), (uint8_t)v };
  put(b, two, 2);
}

static void tlv (out_buf *b, uint8_t type, const void *value, size_t n) {
  put(b, &type, 1);
  put16(b, n);
  put(b, value, n);
}

size_t ws_proxy_v2 (struct ws_conn *c, uint8_t *out, size_t cap) {
  struct sockaddr_storage src, dst;
  socklen_t sl = sizeof src, dl = sizeof dst;
  if (getpeername(c->cfd, (struct sockaddr *)&src, &sl) != 0 || getsockname(c->cfd, (struct sockaddr *)&dst, &dl) != 0) return 0;
  if (src.ss_family != dst.ss_family || (src.ss_family != AF_INET && src.ss_family != AF_INET6)) return 0;
  out_buf b = { out, 0, cap, 0 };
  put(&b, SIGNATURE, sizeof SIGNATURE);
  uint8_t fixed[2] = { 0x21, src.ss_family == AF_INET ? 0x11 : 0x21 };
  put(&b, fixed, 2);
  size_t len_at = b.len;
  put16(&b, 0);
  size_t body = b.len;
  if (src.ss_family == AF_INET) {
    const struct sockaddr_in *s = (const void *)&src, *d = (const void *)&dst;
    put(&b, &s->sin_addr, 4);
    put(&b, &d->sin_addr, 4);
    put(&b, &s->sin_port, 2);
    put(&b, &d->sin_port, 2);
  } else {
    const struct sockaddr_in6 *s = (const void *)&src, *d = (const void *)&dst;
    put(&b, &s->sin6_addr, 16);
    put(&b, &d->sin6_addr, 16);
    put(&b, &s->sin6_port, 2);
    put(&b, &d->sin6_port, 2);
  }
  const unsigned char *alpn = NULL;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
  if (alpn_len > 0) tlv(&b, 0x01, alpn, alpn_len);
  if (c->sni[0]) tlv(&b, 0x02, c->sni, strlen(c->sni));
  const char *version = SSL_get_version(c->ssl);
  size_t vlen = strlen(version);
  uint8_t ssl_head[5] = { 0x01, 0, 0, 0, 0 };
  put(&b, (const uint8_t[]){ 0x20 }, 1);
  put16(&b, sizeof ssl_head + 3 + vlen);
  put(&b, ssl_head, sizeof ssl_head);
  tlv(&b, 0x21, version, vlen);
  if (b.overflow) return 0;
  out[len_at] = (uint8_t)((b.len - body) >> 8);
  out[len_at + 1] = (uint8_t)(b.len - body);
  return b.len;
}
