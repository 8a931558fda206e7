/* Reads one frontend's options from the object the binding passes (src/native/engine.ts
 * frontendOptions): names, timeouts, ALPN, certificates into SSL_CTXs, then its backends
 * and access lists (addon_backends.c), and its listener: the process's descriptor when
 * given (`fd`), else one of its own. Every array is bounded. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "addon.h"
#include "conn.h"

static int tls_version (const char *v) {
  return strcmp(v, "TLSv1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

int ws_element (napi_env env, napi_value arr, uint32_t i, napi_value *out) {
  return napi_get_element(env, arr, i, out) == napi_ok ? 0 : -1;
}

/* Reads one frontend's options; -1 with an exception pending on a bad one. */
int ws_read_frontend (napi_env env, napi_value o, ws_engine *e, ws_frontend *f, int32_t *up, size_t up_words) {
  char host[64], sid[64], ciphers[2048], suites[512], minv[16], maxv[16], err[256];
  int64_t port, backlog;
  napi_value certs, names, timeouts;
  uint8_t *alpn;
  size_t alpn_len;
  if (ws_get_string(env, o, "name", f->name, sizeof f->name) || ws_get_string(env, o, "host", host, sizeof host) ||
      ws_get_int(env, o, "port", &port) || ws_get_int(env, o, "backlog", &backlog) || ws_get_string(env, o, "sidCtx", sid, sizeof sid) ||
      ws_get_double(env, o, "lifetime", &f->lifetime_ms) || ws_get_double(env, o, "keepalive", &f->keepalive_ms) || ws_get_bool(env, o, "tickets", &f->tickets) ||
      ws_get_bool(env, o, "sendProxy", &f->send_proxy) || ws_get_int(env, o, "maxConnections", &port) || (f->max_conns = (int)port, 0) ||
      ws_get_int(env, o, "port", &port) ||
      ws_get_string(env, o, "minVersion", minv, sizeof minv) || ws_get_string(env, o, "maxVersion", maxv, sizeof maxv) ||
      ws_get_string(env, o, "ciphers", ciphers, sizeof ciphers) || ws_get_string(env, o, "ciphersuites", suites, sizeof suites) ||
      ws_get_bytes(env, o, "alpn", &alpn, &alpn_len, NULL) || ws_get_prop(env, o, "certs", &certs) ||
      ws_get_prop(env, o, "names", &names) || ws_get_prop(env, o, "timeouts", &timeouts) ||
      ws_get_double(env, timeouts, "handshake", &f->t_handshake) || ws_get_double(env, timeouts, "client", &f->t_client) ||
      ws_get_double(env, timeouts, "server", &f->t_server) || ws_get_double(env, timeouts, "connect", &f->t_connect)) return -1;
  f->engine = e;
  f->name_len = strlen(f->name);
  f->listen_fd = -1;
  if (alpn_len > sizeof f->alpn) { ws_throw(env, "native engine: ALPN list too long"); return -1; }
  if (alpn_len > 0) memcpy(f->alpn, alpn, alpn_len);
  f->alpn_len = alpn_len;
  uint32_t n;
  if (ws_array_length(env, certs, &n)) return -1;
  if (n == 0 || n > WS_MAX_CERTS) { ws_throw(env, "native engine: 1 to 16 certificates per frontend"); return -1; }
  for (uint32_t i = 0; i < n; i++) {
    napi_value c;
    uint8_t *cert, *key, *info;
    size_t cl, kl, il;
    if (ws_element(env, certs, i, &c) || ws_get_bytes(env, c, "cert", &cert, &cl, NULL) || ws_get_bytes(env, c, "key", &key, &kl, NULL) ||
        ws_get_bytes(env, c, "info", &info, &il, NULL)) return -1;
    if (il > sizeof f->certs[i].info) { ws_throw(env, "native engine: ticket binding too long"); return -1; }
    memcpy(f->certs[i].info, info, il);
    f->certs[i].info_len = il;
    f->certs[i].ctx = ws_tls_ctx_new(f, cert, cl, key, kl, ciphers, suites, tls_version(minv), tls_version(maxv), sid, err, sizeof err);
    f->ncerts = (int)i + 1;
    if (!f->certs[i].ctx) { ws_throw(env, err); return -1; }
  }
  if (ws_array_length(env, names, &n)) return -1;
  for (uint32_t i = 0; i < n && i < WS_MAX_NAMES; i++) {
    napi_value v;
    int64_t cert;
    ws_name *name = &f->names[f->nnames];
    if (ws_element(env, names, i, &v) || ws_get_string(env, v, "name", name->name, sizeof name->name) ||
        ws_get_int(env, v, "cert", &cert) || ws_get_bool(env, v, "wildcard", &name->wildcard)) return -1;
    if (cert < 0 || cert >= f->ncerts) continue;
    name->cert = (int)cert;
    f->nnames++;
  }
  if (ws_read_routing(env, o, f, up, up_words)) return -1;
  int64_t pc, ps, mh, mr;
  if (ws_get_int(env, o, "perClientConnections", &pc) || ws_get_int(env, o, "perClientNewSessions", &ps) ||
      ws_get_int(env, o, "maxClientHello", &mh) || ws_get_int(env, o, "maxClientHelloRecords", &mr)) return -1;
  if (pc < 0 || ps < 0 || pc > INT32_MAX || ps > INT32_MAX || mh < 1 || mh > (1 << 24) || mr < 1 || mr > 1024) {
    ws_throw(env, "native engine: limits out of range");
    return -1;
  }
  f->per_client_conns = (int)pc;
  f->per_client_sessions = (int)ps;
  f->max_hello = (int)mh;
  f->max_hello_records = (int)mr;
  /* Distinct addresses with a connection open are at most max_connections: room for twice that. */
  uint32_t room = f->max_conns > 0 && f->max_conns < (1 << 19) ? 2u * (uint32_t)f->max_conns : 1u << 16;
  if ((pc > 0 && ws_clients_init(&f->conn_budget, room) != 0) ||
      (ps > 0 && ws_clients_init(&f->session_budget, WS_SESSION_ADDRESSES) != 0)) {
    ws_throw(env, "native engine: out of memory for the per-client budgets");
    return -1;
  }
  /* The process's listening descriptor (the supervisor's), or one of the engine's own. */
  int64_t fd = -1;
  bool has = false;
  if (napi_has_named_property(env, o, "fd", &has) == napi_ok && has && ws_get_int(env, o, "fd", &fd)) return -1;
  int shared = fd >= 0, bound = 0;
  if (!shared && (fd = ws_listen_open(host, (int)port, (int)backlog, &bound, err, sizeof err)) < 0) { ws_throw(env, err); return -1; }
  if (ws_engine_listen(e, f, (int)fd, shared, err, sizeof err) != 0) {
    if (!shared) close((int)fd);
    ws_throw(env, err);
    return -1;
  }
  return 0;
}

/* engineStart({ frontends, store?, layout?, tag, ring? }, onEvents) */
