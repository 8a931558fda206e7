/* Stateless tickets from the shared ticket-key ring (src/tls/shared-ticket-keys.ts):
 * the newest key encrypts, older ones decrypt and ask OpenSSL to renew the ticket
 * (return 2), and so does every TLS 1.3 resumption. Keys are bound per frontend and certificate with the same HKDF as
 * contexts.ts boundTicketKey, and the ticket format is the one Node's ticketKeys use
 * (AES-128-CBC, HMAC-SHA256), so a ticket from engine node resumes here and back. */
/* HMAC_CTX and SSL_CTX_set_tlsext_ticket_key_cb are deprecated in OpenSSL 3 (see
 * keyed() below for why they are used): declared without the deprecation warning. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include "conn.h"
#include "ws_layout.h"

static int32_t word (const ws_engine *e, size_t i) {
  return i < e->ring_words ? __atomic_load_n(&e->ring[i], __ATOMIC_SEQ_CST) : 0;
}

static int read_copy (const ws_engine *e, int copy, ws_ring_key *out) {
  int32_t max_keys = word(e, WS_RING_MAX_KEYS);
  size_t base = WS_RING_HEADER_WORDS + (size_t)copy * (1 + (size_t)max_keys * WS_RING_SLOT_WORDS);
  int32_t count = word(e, base);
  if (count < 0) count = 0;
  if (count > max_keys) count = max_keys;
  if (count > WS_MAX_RING_KEYS) count = WS_MAX_RING_KEYS;
  for (int32_t k = 0; k < count; k++) {
    uint8_t bytes[WS_TICKET_KEY_BYTES];
    size_t at = base + 1 + (size_t)k * WS_RING_SLOT_WORDS;
    for (int i = 0; i < WS_TICKET_KEY_BYTES / 4; i++) {
      uint32_t w = (uint32_t)word(e, at + (size_t)i);
      bytes[i * 4] = (uint8_t)w;
      bytes[i * 4 + 1] = (uint8_t)(w >> 8);
      bytes[i * 4 + 2] = (uint8_t)(w >> 16);
      bytes[i * 4 + 3] = (uint8_t)(w >> 24);
    }
    memcpy(out[k].name, bytes, 16);
    memcpy(out[k].secret, bytes + 16, 32);
    OPENSSL_cleanse(bytes, sizeof bytes);
  }
  return count;
}

static int hkdf (EVP_KDF *kdf, const ws_ring_key *k, const uint8_t *info, size_t info_len, uint8_t out[32]) {
  EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
  if (!ctx) return -1;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)k->secret, 32),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)k->name, 16),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
    OSSL_PARAM_construct_end(),
  };
  int rc = EVP_KDF_derive(ctx, out, 32, params) == 1 ? 0 : -1;
  EVP_KDF_CTX_free(ctx);
  return rc;
}

void ws_tickets_refresh (ws_engine *e) {
  if (!e->ring) return;
  int32_t gen = word(e, WS_RING_GENERATION);
  if (gen == e->ring_gen && e->nkeys >= 0) return;
  ws_ring_key keys[WS_MAX_RING_KEYS];
  int n;
  for (;;) {
    n = read_copy(e, gen & 1, keys);
    int32_t after = word(e, WS_RING_GENERATION);
    if (after == gen) break;
    gen = after;
  }
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  int ok = kdf != NULL;
  for (int f = 0; ok && f < e->nfe; f++) {
    for (int c = 0; ok && c < e->fe[f].ncerts; c++) {
      for (int k = 0; ok && k < n; k++) ok = hkdf(kdf, &keys[k], e->fe[f].certs[c].info, e->fe[f].certs[c].info_len, e->bound[f][c][k]) == 0;
    }
  }
  EVP_KDF_free(kdf);
  memcpy(e->keys, keys, sizeof keys);
  OPENSSL_cleanse(keys, sizeof keys);
  e->nkeys = ok ? n : 0;
  e->ring_gen = gen;
}

/* AES-128-CBC fetched once per process: EVP_aes_128_cbc() is a legacy handle that
 * EVP_CipherInit_ex fetches from the provider by name at every call (~1,500 instructions
 * a ticket). An EVP_CIPHER is immutable and reference-counted: one for every thread. */
static EVP_CIPHER *aes_cbc;
static pthread_once_t aes_once = PTHREAD_ONCE_INIT;

static void fetch_aes (void) { aes_cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL); }

/*
 * The HMAC: a keyed HMAC_CTX copied into OpenSSL's, through the HMAC_CTX form of the
 * ticket callback (SSL_CTX_set_tlsext_ticket_key_cb, deprecated in OpenSSL 3 but
 * built into Node's OpenSSL). The EVP_MAC form costs ~9,000 instructions more a ticket
 * (callgrind, docs/profiling-native.md): OpenSSL fetches "HMAC" for each new
 * EVP_MAC_CTX, its OSSL_MAC_PARAM_DIGEST takes only a name (fetched at every call), and
 * a new EVP_MAC_CTX cannot be filled from a keyed one, so the key's two SHA-256 blocks
 * were hashed for every ticket. Here they are hashed once per key on each engine
 * thread: a small direct-mapped cache, its own per thread (no lock), each entry checked
 * against the key bytes it was made from (a rotation or a reload re-keys it), cleansed
 * and freed when the thread ends.
 */
#define HMAC_SLOTS 64

typedef struct { uint8_t key[16]; HMAC_CTX *ctx; } keyed_hmac;

static pthread_key_t hmac_key;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_cache_free (void *p) {
  keyed_hmac *cache = p;
  for (int i = 0; i < HMAC_SLOTS; i++) HMAC_CTX_free(cache[i].ctx);
  OPENSSL_cleanse(cache, sizeof *cache * HMAC_SLOTS);
  free(cache);
}

static void make_hmac_key (void) { if (pthread_key_create(&hmac_key, hmac_cache_free) != 0) hmac_key = 0; }

/* The keyed context of `key` (16 bytes), made on first use by this thread; NULL when out of memory. */
static HMAC_CTX *keyed (const uint8_t key[16], size_t slot) {
  pthread_once(&hmac_once, make_hmac_key);
  keyed_hmac *cache = pthread_getspecific(hmac_key);
  if (!cache) {
    cache = calloc(HMAC_SLOTS, sizeof *cache);
    if (!cache || pthread_setspecific(hmac_key, cache) != 0) { free(cache); return NULL; }
  }
  keyed_hmac *k = &cache[slot % HMAC_SLOTS];
  if (k->ctx && CRYPTO_memcmp(k->key, key, 16) == 0) return k->ctx;
  if (!k->ctx && !(k->ctx = HMAC_CTX_new())) return NULL;
  if (HMAC_Init_ex(k->ctx, key, 16, EVP_sha256(), NULL) != 1) { HMAC_CTX_free(k->ctx); k->ctx = NULL; return NULL; }
  memcpy(k->key, key, 16);
  return k->ctx;
}

static int init_keys (const uint8_t bound[32], size_t slot, const uint8_t *iv, EVP_CIPHER_CTX *ctx, HMAC_CTX *hctx, int enc) {
  pthread_once(&aes_once, fetch_aes);
  const EVP_CIPHER *cipher = aes_cbc ? aes_cbc : EVP_aes_128_cbc();
  HMAC_CTX *src = keyed(bound, slot);
  if (!src || HMAC_CTX_copy(hctx, src) != 1) return -1;
  return EVP_CipherInit_ex(ctx, cipher, NULL, bound + 16, iv, enc) == 1 ? 0 : -1;
}

static int ticket_cb (SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx, HMAC_CTX *hctx, int enc) {
  ws_conn *c = SSL_get_app_data(ssl);
  if (!c) return -1;
  ws_engine *e = c->fe->engine;
  ws_tickets_refresh(e);
  const int f = c->fe->index, cert = c->cert;
  const size_t slot = ((size_t)f * WS_MAX_CERTS + (size_t)cert) * WS_MAX_RING_KEYS;
  if (enc) {
    if (e->nkeys == 0) return 0;
    memcpy(key_name, e->keys[0].name, 16);
    if (RAND_bytes(iv, 16) != 1) return -1;
    return init_keys(e->bound[f][cert][0], slot, iv, ctx, hctx, 1) == 0 ? 1 : -1;
  }
  ws_hex(c->offered, sizeof c->offered, key_name, 16);
  for (int k = 0; k < e->nkeys; k++) {
    if (memcmp(key_name, e->keys[k].name, 16) != 0) continue;
    if (init_keys(e->bound[f][cert][k], slot + (size_t)k, iv, ctx, hctx, 0) != 0) return -1;
    c->ticket_state = WS_TK_DECRYPTED;
    /* 2 = renew. In TLS 1.3 always: OpenSSL sends a NewSessionTicket after a resumed
     * handshake only when asked to renew, and clients that use each ticket once (RFC 8446
     * C.4) would otherwise resume only every other time (Traffic Server does the same). */
    return k == 0 && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
  }
  c->ticket_state = WS_TK_UNKNOWN_KEY;
  return 0;
}

void ws_tickets_install (SSL_CTX *ctx) { SSL_CTX_set_tlsext_ticket_key_cb(ctx, ticket_cb); }
