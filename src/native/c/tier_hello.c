/* The ClientHello side of the Redis tier. With session_cache.redis the ClientHello
 * callback makes the cache lookup itself: it reads what the client offers to resume
 * (engine node's resumption.ts offerOf, from the extensions OpenSSL hands over, every
 * length checked), looks it up in the shared store, and on a miss there asks the worker's
 * JS to look in Redis and returns SSL_CLIENT_HELLO_RETRY: OpenSSL suspends the handshake
 * (SSL_ERROR_WANT_CLIENT_HELLO_CB) and calls the callback again when the engine resumes
 * it (an answer, or the deadline). The get-session callback then takes the verdict. */
#include <string.h>
#include <openssl/tls1.h>
#include "conn.h"

static int offers_tls13 (SSL *ssl) {
  const unsigned char *p;
  size_t len;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &len) || len < 1) return 0;
  size_t n = p[0];
  if (n + 1 > len || n % 2 != 0) return 0;
  for (size_t i = 1; i + 1 <= n; i += 2) if (p[i] == 0x03 && p[i + 1] == 0x04) return 1;
  return 0;
}

/* pre_shared_key: identities (u16 length), each u16 length, identity, u32 age. The
 * first of at most 32 bytes is OpenSSL's stateful ticket: the session id it stored. */
static size_t stateful_identity (SSL *ssl, const unsigned char **out) {
  const unsigned char *p;
  size_t len;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &p, &len) || len < 2) return 0;
  size_t list = ((size_t)p[0] << 8) | p[1];
  if (list > len - 2) return 0;
  const unsigned char *end = p + 2 + list;
  p += 2;
  while (end - p >= 2) {
    size_t n = ((size_t)p[0] << 8) | p[1];
    if ((size_t)(end - p) < 2 + n + 4) return 0;
    if (n >= 1 && n <= SSL_MAX_SSL_SESSION_ID_LENGTH) { *out = p + 2; return n; }
    p += 2 + n + 4;
  }
  return 0;
}

/* The key the get-session callback will be asked for, or 0: a TLS 1.3 client's legacy
 * session id is random (never looked up), and a ticket is decrypted, not looked up. */
static size_t offered_key (ws_conn *c, const unsigned char **key) {
  SSL *ssl = c->ssl;
  long max = SSL_get_max_proto_version(ssl);
  if ((max == 0 || max >= TLS1_3_VERSION) && offers_tls13(ssl)) return c->fe->tickets ? 0 : stateful_identity(ssl, key);
  const unsigned char *p;
  size_t len;
  if (c->fe->tickets && SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_session_ticket, &p, &len) && len > 0) return 0;
  return SSL_client_hello_get0_session_id(ssl, key);
}

/* Redis answered (or the engine's deadline did): the verdict for the get callback. */
static void answered (ws_conn *c) {
  if (c->tier_result == WS_TR_HIT) {
    /* JS copied the entry into the shared store; this second look was counted as Redis's hit. */
    int cause = c->cache_miss, absent;
    c->found = ws_session_lookup(c, c->key, c->key_len, 1, &absent);
    if (absent) c->cache_miss = cause; /* evicted at once: the first look's cause */
  } else if (c->tier_result == WS_TR_TIMEOUT) {
    c->cache_miss = WS_MC_STORE_TIMEOUT;
  } else if (c->tier_result == WS_TR_ERROR) {
    c->cache_miss = WS_MC_STORE_ERROR;
  } /* WS_TR_UNKNOWN: the local cause stands (its 'expired' says more), as in TieredStore */
  c->tier_result = 0;
}

int ws_tier_hello (ws_conn *c) {
  if (c->tier_state == WS_TIER_ASKED) return SSL_CLIENT_HELLO_RETRY;
  if (c->tier_state == WS_TIER_ANSWERED && c->tier_result) { answered(c); return SSL_CLIENT_HELLO_SUCCESS; }
  if (c->prefetched) return SSL_CLIENT_HELLO_SUCCESS; /* a second ClientHello (HelloRetryRequest): one lookup per connection */
  const unsigned char *key = NULL;
  size_t n = offered_key(c, &key);
  if (n == 0 || n > WS_TIER_KEY) return SSL_CLIENT_HELLO_SUCCESS;
  memcpy(c->key, key, n);
  c->key_len = n;
  c->prefetched = 1;
  int absent;
  c->found = ws_session_lookup(c, key, n, 0, &absent);
  /* Only an entry the store does not hold is asked of Redis (a wrong SNI would be there too). */
  if (!absent || ws_tier_ask(c, key, n) != 0) return SSL_CLIENT_HELLO_SUCCESS;
  return SSL_CLIENT_HELLO_RETRY;
}
