/* Stateless tickets from the shared ticket-key ring (src/tls/shared-ticket-keys.ts):
 * the newest key encrypts, older ones decrypt and ask OpenSSL to renew the ticket
 * (return 2), and so does every TLS 1.3 resumption. Keys are bound per frontend and certificate with the same HKDF as
 * contexts.ts boundTicketKey, and the ticket format is the one Node's ticketKeys use
 * (AES-128-CBC, HMAC-SHA256), so a ticket from engine node resumes here and back. */
#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
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
 * a ticket). An EVP_CIPHER is immutable and reference-counted: one for every thread. The
 * HMAC's digest has no such way in: OSSL_MAC_PARAM_DIGEST takes only a name, fetched by
 * the provider at each EVP_MAC_CTX_set_params, and OpenSSL hands a new EVP_MAC_CTX to
 * every call, so there is no keyed context to copy either. */
static EVP_CIPHER *aes_cbc;
static pthread_once_t aes_once = PTHREAD_ONCE_INIT;

static void fetch_aes (void) { aes_cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL); }

static int init_keys (const uint8_t bound[32], const uint8_t *iv, EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc) {
  pthread_once(&aes_once, fetch_aes);
  const EVP_CIPHER *cipher = aes_cbc ? aes_cbc : EVP_aes_128_cbc();
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)bound, 16),
    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
    OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
  return EVP_CipherInit_ex(ctx, cipher, NULL, bound + 16, iv, enc) == 1 ? 0 : -1;
}

int ws_ticket_cb (SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc) {
  ws_conn *c = SSL_get_app_data(ssl);
  if (!c) return -1;
  ws_engine *e = c->fe->engine;
  ws_tickets_refresh(e);
  const int f = c->fe->index, cert = c->cert;
  if (enc) {
    if (e->nkeys == 0) return 0;
    memcpy(key_name, e->keys[0].name, 16);
    if (RAND_bytes(iv, 16) != 1) return -1;
    return init_keys(e->bound[f][cert][0], iv, ctx, hctx, 1) == 0 ? 1 : -1;
  }
  ws_hex(c->offered, sizeof c->offered, key_name, 16);
  for (int k = 0; k < e->nkeys; k++) {
    if (memcmp(key_name, e->keys[k].name, 16) != 0) continue;
    if (init_keys(e->bound[f][cert][k], iv, ctx, hctx, 0) != 0) return -1;
    c->ticket_state = WS_TK_DECRYPTED;
    /* 2 = renew. In TLS 1.3 always: OpenSSL sends a NewSessionTicket after a resumed
     * handshake only when asked to renew, and clients that use each ticket once (RFC 8446
     * C.4) would otherwise resume only every other time (Traffic Server does the same). */
    return k == 0 && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
  }
  c->ticket_state = WS_TK_UNKNOWN_KEY;
  return 0;
}
