/* The external session cache's callbacks: they read and write the shared store
 * (session-record.ts framing: frontend and SNI bound, RFC 6066 §3) and publish the
 * Redis tier's copy; a TLS 1.2 session is stored before the server's Finished. */
#include <string.h>
#include <openssl/tls1.h>
#include "conn.h"
#include "ws_layout.h"

#define RECORD_MAX 16384

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

/* Installs the four on a new SSL_CTX (tls_ctx.c ws_tls_ctx_new). */
void ws_session_callbacks (SSL_CTX *ctx) {
  SSL_CTX_sess_set_new_cb(ctx, new_cb);
  SSL_CTX_sess_set_get_cb(ctx, get_cb);
  SSL_CTX_sess_set_remove_cb(ctx, remove_cb);
  SSL_CTX_set_info_callback(ctx, info_cb);
}
