/* Reads what routes a frontend's connections: its backends (the default first, then
 * each other one its use_backend rules name) with their servers, the rules, and the
 * allow/deny lists, from the object src/native/engine.ts frontendOptions builds. Every
 * array is allocated to the config's size under a fixed bound. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addon.h"
#include "conn.h"

static int resolve (const char *host, int port, ws_server *out) {
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  if (getaddrinfo(host, service, &hints, &ai) != 0 || ai->ai_addrlen > sizeof out->addr) { if (ai) freeaddrinfo(ai); return -1; }
  memcpy(&out->addr, ai->ai_addr, ai->ai_addrlen);
  out->len = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

/* { name, balance, upOffset, servers: [{ name, host, port, weight }] } */
static int read_backend (napi_env env, napi_value o, ws_backend *b, int32_t *up, size_t up_words) {
  napi_value servers;
  char balance[16];
  int64_t up_at;
  uint32_t n;
  if (ws_get_string(env, o, "name", b->name, sizeof b->name) || ws_get_string(env, o, "balance", balance, sizeof balance) ||
      ws_get_int(env, o, "upOffset", &up_at) || ws_get_prop(env, o, "servers", &servers) || ws_array_length(env, servers, &n)) return -1;
  b->balance = strcmp(balance, "leastconn") == 0 ? WS_BAL_LEASTCONN : strcmp(balance, "source") == 0 ? WS_BAL_SOURCE : WS_BAL_ROUNDROBIN;
  if (n == 0 || n > WS_MAX_SERVERS) { ws_throw(env, "native engine: 1 to 64 servers per backend"); return -1; }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    char shost[256];
    int64_t sport, weight;
    ws_server *s = &b->servers[i];
    if (ws_element(env, servers, i, &v) || ws_get_string(env, v, "host", shost, sizeof shost) || ws_get_int(env, v, "port", &sport) ||
        ws_get_string(env, v, "name", s->name, sizeof s->name) || ws_get_int(env, v, "weight", &weight)) return -1;
    if (weight < 0 || weight > 256) { ws_throw(env, "native engine: a server weight is 0 to 256"); return -1; }
    s->weight = (int)weight;
    s->name_len = strlen(s->name);
    if (resolve(shost, (int)sport, s) != 0) { ws_throw(env, "native engine: cannot resolve a server address"); return -1; }
    b->nservers = (int)i + 1;
  }
  if (up && up_at >= 0 && (size_t)up_at + (size_t)b->nservers <= up_words) b->up = up + up_at;
  return 0;
}

/* { sni, wildcard, backend } with sni lower case, a wildcard's as ".suffix". */
static int read_route (napi_env env, napi_value o, ws_frontend *f, ws_route *r) {
  int64_t backend;
  if (ws_get_string(env, o, "sni", r->sni, sizeof r->sni) || ws_get_bool(env, o, "wildcard", &r->wildcard) ||
      ws_get_int(env, o, "backend", &backend)) return -1;
  if (backend < 0 || backend >= f->nbackends) { ws_throw(env, "native engine: a use_backend rule names no backend"); return -1; }
  r->backend = (int)backend;
  r->len = strlen(r->sni);
  return 0;
}

/* `name`: a byte array of 18-byte entries (family length 4 or 16, prefix, 16 address bytes). */
static int read_list (napi_env env, napi_value o, const char *name, ws_acl *out) {
  uint8_t *bytes;
  size_t len;
  if (ws_get_bytes(env, o, name, &bytes, &len, NULL)) return -1;
  size_t n = len / 18;
  if (len % 18 != 0 || n > WS_MAX_CIDRS) { ws_throw(env, "native engine: a bad allow/deny list"); return -1; }
  if (n == 0) return 0;
  out->nets = calloc(n, sizeof *out->nets);
  if (!out->nets) { ws_throw(env, "native engine: out of memory"); return -1; }
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = bytes + 18 * i;
    if ((p[0] != 4 && p[0] != 16) || p[1] > p[0] * 8) { ws_throw(env, "native engine: a bad allow/deny network"); return -1; }
    out->nets[i].len = p[0];
    out->nets[i].prefix = p[1];
    memcpy(out->nets[i].bytes, p + 2, p[0]);
    out->n = (int)i + 1;
  }
  ws_acl_index(out);
  return 0;
}

int ws_read_routing (napi_env env, napi_value o, ws_frontend *f, int32_t *up, size_t up_words) {
  napi_value backends, routes;
  uint32_t n;
  if (ws_get_prop(env, o, "backends", &backends) || ws_array_length(env, backends, &n)) return -1;
  if (n == 0 || n > WS_MAX_BACKENDS) { ws_throw(env, "native engine: 1 to 16 backends per frontend"); return -1; }
  f->backends = calloc(n, sizeof *f->backends);
  if (!f->backends) { ws_throw(env, "native engine: out of memory"); return -1; }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    f->backends[i].index = (int)i;
    f->nbackends = (int)i + 1;
    if (ws_element(env, backends, i, &v) || read_backend(env, v, &f->backends[i], up, up_words)) return -1;
  }
  if (ws_get_prop(env, o, "routes", &routes) || ws_array_length(env, routes, &n)) return -1;
  if (n > WS_MAX_ROUTES) { ws_throw(env, "native engine: too many use_backend rules"); return -1; }
  if (n > 0 && !(f->routes = calloc(n, sizeof *f->routes))) { ws_throw(env, "native engine: out of memory"); return -1; }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (ws_element(env, routes, i, &v) || read_route(env, v, f, &f->routes[i])) return -1;
    f->nroutes = (int)i + 1;
  }
  return read_list(env, o, "allow", &f->allow) || read_list(env, o, "deny", &f->deny) ? -1 : 0;
}
