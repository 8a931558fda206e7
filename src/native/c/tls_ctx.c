/* One SSL_CTX per certificate of a frontend, with the policy of the config, and the
 * callbacks that tie OpenSSL to warmshake: the ClientHello callback picks the
 * certificate by SNI (exact, then wildcard, then the first); ALPN picks the first of
 * the frontend's protocols the client offers; the external session cache reads and
 * writes the shared store (session-record.ts framing: frontend and SNI bound, RFC 6066
 * §3). OpenSSL parses TLS and sends the alerts; the only bytes read here are the SNI
 * extension OpenSSL hands over, length-checked. */
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/tls1.h>
#include "conn.h"
#include "ws_layout.h"

#define RECORD_MAX 16384

int ws_tls_select (const ws_frontend *f, const char *sni) {
  if (!sni[0]) return 0;
  for (int i = 0; i < f->nnames; i++) if (!f->names[i].wildcard && strcmp(f->names[i].name, sni) == 0) return f->names[i].cert;
  const char *dot = strchr(sni, '.');
  if (!dot || dot == sni) return 0;
  for (int i = 0; i < f->nnames; i++) if (f->names[i].wildcard && strcmp(f->names[i].name, dot + 1) == 0) return f->names[i].cert;
  return 0;
}

/* server_name extension: list length (2), then entries of type (1), length (2), name. */
static int read_sni (SSL *ssl, char *out, size_t cap) {
  const unsigned char *p;
  size_t len;
  out[0] = 0;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len)) return 0;
  if (len < 2 || (size_t)((p[0] << 8) | p[1]) != len - 2) return -1;
  p += 2;
  len -= 2;
  if (len < 3 || p[0] != TLSEXT_NAMETYPE_host_name) return -1;
  size_t n = (size_t)((p[1] << 8) | p[2]);
  if (n == 0 || n > len - 3 || n >= cap) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = p[3 + i];
    if (ch == 0 || ch > 0x7e) return -1;
    out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  }
  out[n] = 0;
  return 0;
}

static int hello_cb (SSL *ssl, int *alert, void *arg) {
  ws_frontend *f = arg;
  ws_conn *c = SSL_get_app_data(ssl);
  if (!c) return SSL_CLIENT_HELLO_ERROR;
  c->hello_seen = 1;
  c->hello_v2 = SSL_client_hello_isv2(ssl);
  if (read_sni(ssl, c->sni, sizeof c->sni) != 0) {
    *alert = SSL_AD_DECODE_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  c->cert = ws_tls_select(f, c->sni);
  if (c->cert != 0 && !SSL_set_SSL_CTX(ssl, f->certs[c->cert].ctx)) return SSL_CLIENT_HELLO_ERROR;
  return f->engine->tier.enabled && f->engine->has_store ? ws_tier_hello(c) : SSL_CLIENT_HELLO_SUCCESS;
}

static int alpn_cb (SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  ws_frontend *f = arg;
  if (f->alpn_len == 0) return SSL_TLSEXT_ERR_NOACK;
  unsigned char *chosen;
  if (SSL_select_next_proto(&chosen, outlen, f->alpn, (unsigned int)f->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

/* u8 version | f64 BE created ms | u8 len | frontend | u8 len | sni | session */
static size_t record_header (uint8_t *out, const ws_conn *c, double created) {
  uint64_t bits;
  memcpy(&bits, &created, 8);
  size_t at = 0;
  out[at++] = WS_RECORD_VERSION;
  for (int i = 7; i >= 0; i--) out[at++] = (uint8_t)(bits >> (i * 8));
  out[at++] = (uint8_t)c->fe->name_len;
  memcpy(out + at, c->fe->name, c->fe->name_len);
  at += c->fe->name_len;
  size_t sni_len = strlen(c->sni);
  out[at++] = (uint8_t)sni_len;
  memcpy(out + at, c->sni, sni_len);
  return at + sni_len;
}

/* Writes the session into the shared store and records the outcome. */
static void store_session (ws_conn *c, SSL_SESSION *sess) {
  ws_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = WS_EV_STORED;
  /* A flood of new sessions from one address must not evict everyone's (engine node's admitNewSession). */
  if (!ws_client_new_session(c->fe, c->addr)) {
    c->stored = 1;
    ws_copy(ev.reason, sizeof ev.reason, "client over its new-session budget");
    ws_conn_publish(c, &ev);
    return;
  }
  unsigned int id_len;
  const unsigned char *id = SSL_SESSION_get_id(sess, &id_len);
  int der_len = i2d_SSL_SESSION(sess, NULL);
  uint8_t record[RECORD_MAX];
  size_t head = record_header(record, c, ws_now_ms());
  if (id_len == 0 || der_len <= 0 || (size_t)der_len > sizeof record - head) return; /* no id, or larger than any store's max_entry_bytes */
  c->stored = 1;
  unsigned char *p = record + head;
  i2d_SSL_SESSION(sess, &p);
  ev.resumed = (uint8_t)(ws_store_set(&c->fe->engine->store, id, id_len, record, head + (size_t)der_len, c->fe->lifetime_ms) == 1);
  ws_tier_publish(c, id, id_len, record, head + (size_t)der_len, c->fe->lifetime_ms);
  OPENSSL_cleanse(record, head + (size_t)der_len);
  if (!ev.resumed) ws_copy(ev.reason, sizeof ev.reason, "not cached (too large or cache unavailable)");
  ws_conn_publish(c, &ev);
}

static int new_cb (SSL *ssl, SSL_SESSION *sess) {
  ws_conn *c = SSL_get_app_data(ssl);
  if (!c || !c->fe->engine->has_store) return 0;
  int tls13 = SSL_version(ssl) == TLS1_3_VERSION;
  /* TLS 1.3 stateless tickets come with an id no client will ever present; a TLS 1.2
   * session may already be stored (info_cb). Each TLS 1.3 stateful ticket is its own. */
  if ((c->fe->tickets && tls13) || (c->stored && !tls13)) return 0;
  store_session(c, sess);
  return 0;
}

/*
 * A TLS 1.2 full handshake's session is cached before the server's Finished goes out:
 * OpenSSL calls new_cb only after writing it, and a client that reconnects at once
 * (openssl s_client -reconnect) could reach another worker before the store did.
 */
static void info_cb (const SSL *ssl, int where, int ret) {
  (void)ret;
  if (!(where & SSL_CB_ACCEPT_LOOP) || SSL_get_state(ssl) != TLS_ST_SW_CHANGE) return;
  if (SSL_version(ssl) == TLS1_3_VERSION || SSL_session_reused(ssl)) return;
  ws_conn *c = SSL_get_app_data(ssl);
  SSL_SESSION *sess = SSL_get_session(ssl);
  if (c && sess && c->fe->engine->has_store && !c->stored) store_session(c, sess);
}

/* Looks `id` up in the shared store and checks the record (frontend, SNI, age); sets the
 * miss cause. `absent`: the store has no such entry (where the Redis tier is asked). */
SSL_SESSION *ws_session_lookup (ws_conn *c, const unsigned char *id, size_t id_len, int quiet, int *absent) {
  uint8_t record[RECORD_MAX];
  size_t len = 0;
  int miss = 0;
  double ttl = 0;
  *absent = 0;
  int rc = ws_store_read(&c->fe->engine->store, id, id_len, record, sizeof record, &len, &miss, &ttl, quiet);
  SSL_SESSION *sess = NULL;
  c->cache_hit = 0;
  if (rc != 1) { *absent = rc == 0; c->cache_miss = rc < 0 ? WS_MC_STORE_ERROR : miss == WS_MISS_EXPIRED ? WS_MC_EXPIRED : WS_MC_UNKNOWN; goto done; }
  size_t at = 9;
  if (len < 11 || record[0] != WS_RECORD_VERSION) { c->cache_miss = WS_MC_STORE_ERROR; goto done; }
  uint64_t bits = 0;
  for (int i = 1; i <= 8; i++) bits = (bits << 8) | record[i];
  double created;
  memcpy(&created, &bits, 8);
  size_t flen = record[at++];
  if (at + flen + 1 > len) { c->cache_miss = WS_MC_STORE_ERROR; goto done; }
  int same = flen == c->fe->name_len && memcmp(record + at, c->fe->name, flen) == 0;
  at += flen;
  size_t slen = record[at++];
  if (at + slen >= len) { c->cache_miss = WS_MC_STORE_ERROR; goto done; }
  same = same && slen == strlen(c->sni) && memcmp(record + at, c->sni, slen) == 0;
  at += slen;
  if (!same) { c->cache_miss = WS_MC_WRONG_SNI; goto done; }
  if (ws_now_ms() - created > c->fe->lifetime_ms) { c->cache_miss = WS_MC_EXPIRED; goto done; }
  const unsigned char *p = record + at;
  sess = d2i_SSL_SESSION(NULL, &p, (long)(len - at));
  if (sess) c->cache_hit = 1; else c->cache_miss = WS_MC_STORE_ERROR;
done:
  OPENSSL_cleanse(record, len);
  return sess;
}

static SSL_SESSION *get_cb (SSL *ssl, const unsigned char *id, int id_len, int *copy) {
  *copy = 0;
  ws_conn *c = SSL_get_app_data(ssl);
  if (!c || !c->fe->engine->has_store || id_len <= 0) return NULL;
  ws_hex(c->offered, sizeof c->offered, id, (size_t)id_len);
  c->lookup_done = 1;
  /* Looked up already by the ClientHello callback (with the Redis tier): its verdict. */
  int absent;
  if (c->prefetched && (size_t)id_len == c->key_len && memcmp(id, c->key, c->key_len) == 0) {
    SSL_SESSION *sess = c->found;
    c->found = NULL;
    /* Asked again after a HelloRetryRequest: the same entry, looked at without counting. */
    return sess || !c->cache_hit ? sess : ws_session_lookup(c, id, (size_t)id_len, 1, &absent);
  }
  return ws_session_lookup(c, id, (size_t)id_len, 0, &absent);
}

static void remove_cb (SSL_CTX *ctx, SSL_SESSION *sess) {
  ws_frontend *f = SSL_CTX_get_app_data(ctx);
  if (!f || !f->engine->has_store) return;
  unsigned int id_len;
  const unsigned char *id = SSL_SESSION_get_id(sess, &id_len);
  if (id_len > 0) ws_store_delete(&f->engine->store, id, id_len);
}

static void set_err (char *err, size_t errlen, const char *what) {
  unsigned long code = ERR_get_error();
  char reason[160] = "";
  if (code) ERR_error_string_n(code, reason, sizeof reason);
  snprintf(err, errlen, "%s%s%s", what, reason[0] ? ": " : "", reason);
  ERR_clear_error();
}

static int load_pem (SSL_CTX *ctx, const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len) {
  int ok = 0;
  BIO *b = BIO_new_mem_buf(cert, (int)cert_len);
  X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  if (leaf && SSL_CTX_use_certificate(ctx, leaf) == 1) {
    ok = 1;
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) ok = SSL_CTX_add1_chain_cert(ctx, extra) == 1, X509_free(extra);
    ERR_clear_error(); /* the end of the PEM stream */
  }
  X509_free(leaf);
  BIO_free(b);
  if (!ok) return -1;
  b = BIO_new_mem_buf(key, (int)key_len);
  EVP_PKEY *pkey = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
  ok = pkey && SSL_CTX_use_PrivateKey(ctx, pkey) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(pkey);
  BIO_free(b);
  return ok ? 0 : -2;
}

SSL_CTX *ws_tls_ctx_new (ws_frontend *f, const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
    const char *ciphers, const char *suites, int min_version, int max_version, const char *sid_ctx, char *err, size_t errlen) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) { set_err(err, errlen, "SSL_CTX_new"); return NULL; }
  SSL_CTX_set_app_data(ctx, f);
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
    (f->tickets ? 0 : SSL_OP_NO_TICKET));
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  int rc = load_pem(ctx, cert, cert_len, key, key_len);
  if (rc != 0) { set_err(err, errlen, rc == -1 ? "certificate" : "private key"); goto fail; }
  if (ciphers[0] && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) { set_err(err, errlen, "ciphers"); goto fail; }
  if (suites[0] && SSL_CTX_set_ciphersuites(ctx, suites) != 1) { set_err(err, errlen, "ciphersuites"); goto fail; }
  if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)sid_ctx, (unsigned int)strlen(sid_ctx)) != 1) { set_err(err, errlen, "session id context"); goto fail; }
  SSL_CTX_set_timeout(ctx, (long)(f->lifetime_ms / 1000 > 1 ? f->lifetime_ms / 1000 : 1));
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL | SSL_SESS_CACHE_NO_AUTO_CLEAR);
  SSL_CTX_sess_set_new_cb(ctx, new_cb);
  SSL_CTX_sess_set_get_cb(ctx, get_cb);
  SSL_CTX_sess_set_remove_cb(ctx, remove_cb);
  SSL_CTX_set_info_callback(ctx, info_cb);
  if (f->tickets) SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ws_ticket_cb);
  SSL_CTX_set_client_hello_cb(ctx, hello_cb, f);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, f);
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}
