/* One SSL_CTX per certificate of a frontend, with the policy of the config, and the
 * callbacks that tie OpenSSL to warmshake at the ClientHello: the certificate is picked
 * by SNI (exact, then wildcard, then the first); ALPN picks the first of the frontend's
 * protocols the client offers. The session cache's callbacks are tls_session.c's.
 * OpenSSL parses TLS and sends the alerts; the only bytes read here are the SNI
 * extension OpenSSL hands over, length-checked. */
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/tls1.h>
#include "conn.h"

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
  /* One read per flight instead of a header read and a body read per record (fewer
   * read system calls and BIO calls: ~6,800 instructions a resumed handshake). Bytes
   * read ahead stay in OpenSSL: splice.c calls SSL_read whenever it has room, never only
   * on a client readiness event, so none wait there unseen (docs/native.md, System calls per connection). */
  SSL_CTX_set_read_ahead(ctx, 1);
  int rc = load_pem(ctx, cert, cert_len, key, key_len);
  if (rc != 0) { set_err(err, errlen, rc == -1 ? "certificate" : "private key"); goto fail; }
  if (ciphers[0] && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) { set_err(err, errlen, "ciphers"); goto fail; }
  if (suites[0] && SSL_CTX_set_ciphersuites(ctx, suites) != 1) { set_err(err, errlen, "ciphersuites"); goto fail; }
  if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)sid_ctx, (unsigned int)strlen(sid_ctx)) != 1) { set_err(err, errlen, "session id context"); goto fail; }
  SSL_CTX_set_timeout(ctx, (long)(f->lifetime_ms / 1000 > 1 ? f->lifetime_ms / 1000 : 1));
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL | SSL_SESS_CACHE_NO_AUTO_CLEAR);
  ws_session_callbacks(ctx);
  if (f->tickets) ws_tickets_install(ctx);
  SSL_CTX_set_client_hello_cb(ctx, hello_cb, f);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, f);
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}
