/* The engine's records as one string per drain, which src/native/event-text.ts splits
 * into NativeEvent objects. One string, not one JS object per record: building an object
 * field by field cost some 26 N-API calls (about 28,000 instructions) per handshake on
 * the worker's JS thread, more than the session lookup; one string costs one call per
 * drain, and V8 splits it with its own builtins.
 *
 * A record is 16 fields separated by US (0x1f), records end with RS (0x1e), in this
 * order (event-text.ts FIELDS must match):
 *   kind frontend client backend server flag stage reason sni version cipher alpn method miss offered duration_us
 * kind, stage, method and miss are the small numbers of events.h (event-text.ts names
 * them); flag is `resumed`, `answered` or `stored` by kind. A byte 0x1c-0x1f inside a
 * field (an SNI may hold control bytes) is sent as ESC_MARK (0x1c) then the byte + 0x40. */
#include <stdlib.h>
#include <string.h>
#include "addon.h"
#include <openssl/crypto.h>
#include "events.h"
#include "tier.h"

#define US 0x1f
#define RS 0x1e
#define ESC_MARK 0x1c

int ws_text_init (ws_text *t, size_t cap) {
  t->len = 0;
  t->oom = 0;
  t->cap = cap;
  t->bytes = malloc(cap);
  return t->bytes ? 0 : -1;
}

static int room (ws_text *t, size_t n) {
  if (t->len + n <= t->cap) return 0;
  size_t cap = t->cap * 2 > t->len + n ? t->cap * 2 : t->len + n;
  char *bytes = realloc(t->bytes, cap);
  if (!bytes) { t->oom = 1; return -1; }
  t->bytes = bytes;
  t->cap = cap;
  return 0;
}

static void field (ws_text *t, const char *s, int last) {
  size_t n = strlen(s);
  /* Worst case every byte escaped, plus the separator. */
  if (t->oom || room(t, 2 * n + 1) != 0) return;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= ESC_MARK && ch <= US) { t->bytes[t->len++] = ESC_MARK; t->bytes[t->len++] = (char)(ch + 0x40); }
    else t->bytes[t->len++] = (char)ch;
  }
  t->bytes[t->len++] = last ? RS : US;
}

/* Decimal digits by hand: snprintf cost some 2,000 instructions a number. */
static void number (ws_text *t, long long v, int last) {
  char buf[24];
  size_t at = sizeof buf;
  buf[--at] = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do { buf[--at] = (char)('0' + u % 10); u /= 10; } while (u > 0);
  if (v < 0) buf[--at] = '-';
  field(t, buf + at, last);
}

void ws_event_text (ws_text *t, const ws_event *ev) {
  number(t, ev->kind, 0);
  number(t, ev->frontend, 0);
  field(t, ev->client, 0);
  number(t, ev->backend, 0);
  number(t, ev->server, 0);
  number(t, ev->resumed, 0);
  number(t, ev->stage, 0);
  field(t, ev->reason, 0);
  field(t, ev->sni, 0);
  field(t, ev->version, 0);
  field(t, ev->cipher, 0);
  field(t, ev->alpn, 0);
  number(t, ev->method, 0);
  number(t, ev->miss, 0);
  field(t, ev->offered, 0);
  number(t, (long long)(ev->duration_ms * 1000.0), 1); /* microseconds */
}

/* One lookup ({ token, key }) or publish ({ key, record, ttl }) for the worker's Redis tier;
 * the engine's copy of the record is cleansed and freed here (JS has its own now). */
napi_value ws_tier_object (napi_env env, struct ws_tier_msg *m) {
  napi_value o, v;
  void *data;
  if (napi_create_object(env, &o) != napi_ok) o = NULL;
  if (o && napi_create_buffer_copy(env, m->key_len, m->key, &data, &v) == napi_ok) napi_set_named_property(env, o, "key", v);
  if (o && m->kind == WS_TM_LOOKUP) ws_set_int(env, o, "token", m->token);
  if (o && m->kind == WS_TM_PUBLISH && napi_create_buffer_copy(env, m->len, m->record, &data, &v) == napi_ok) {
    napi_set_named_property(env, o, "record", v);
    napi_create_double(env, m->ttl, &v);
    napi_set_named_property(env, o, "ttl", v);
    ws_set_int(env, o, "seq", m->seq);
  }
  if (m->record) { OPENSSL_cleanse(m->record, m->len); free(m->record); m->record = NULL; }
  return o;
}
