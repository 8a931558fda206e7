/* use_backend: after the handshake, the SNI picks the backend, as engine node's
 * backendForSni (src/frontend/sni-routing.ts): rules in config order, the first match
 * wins; `*.suffix` matches any name ending in ".suffix" with at least one character
 * before it (not the bare suffix, any depth); no SNI or no match: the default backend.
 * Names are compared in lower case (the SNI is lowered when read, the rules by the
 * binding). */
#include <stdlib.h>
#include <string.h>
#include "engine.h"

static int matches (const ws_route *r, const char *sni, size_t len) {
  if (!r->wildcard) return len == r->len && memcmp(sni, r->sni, len) == 0;
  return len > r->len && memcmp(sni + len - r->len, r->sni, r->len) == 0;
}

ws_backend *ws_route_backend (const ws_frontend *f, const char *sni) {
  size_t len = strlen(sni);
  if (len > 0) {
    for (int i = 0; i < f->nroutes; i++) if (matches(&f->routes[i], sni, len)) return &f->backends[f->routes[i].backend];
  }
  return &f->backends[0];
}

void ws_frontend_free (ws_frontend *f) {
  free(f->backends);
  f->backends = NULL;
  f->nbackends = 0;
  free(f->routes);
  f->routes = NULL;
  f->nroutes = 0;
  ws_acl_free(&f->allow);
  ws_acl_free(&f->deny);
}
