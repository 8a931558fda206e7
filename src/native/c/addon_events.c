/* One engine record as the JS object src/native/types.ts NativeEvent describes. */
#include "addon.h"
#include "events.h"

static const char *const METHODS[] = { "none", "id", "ticket", "stateful_ticket" };
static const char *const MISSES[] = { "", "unknown", "expired", "wrong_sni", "unknown_ticket_key", "ticket_rejected", "rejected", "store_error" };
static const char *const STAGES[] = { "handshake", "client_hello", "timeout", "backend", "proxy", "limit", "shutdown", "access" };

napi_value ws_event_object (napi_env env, const ws_event *ev) {
  napi_value o, b, d;
  NAPI_OK(napi_create_object(env, &o));
  ws_set_str(env, o, "kind", ev->kind == WS_EV_HANDSHAKE ? "handshake" : ev->kind == WS_EV_STORED ? "stored" : ev->kind == WS_EV_SERVER ? "server" : "error");
  ws_set_int(env, o, "frontend", ev->frontend);
  ws_set_str(env, o, "client", ev->client);
  if (ev->kind == WS_EV_SERVER) {
    ws_set_int(env, o, "backend", ev->backend);
    ws_set_int(env, o, "server", ev->server);
    napi_get_boolean(env, ev->resumed != 0, &b);
    napi_set_named_property(env, o, "answered", b);
    ws_set_str(env, o, "reason", ev->reason);
    return o;
  }
  if (ev->kind == WS_EV_STORED) {
    napi_get_boolean(env, ev->resumed != 0, &b);
    napi_set_named_property(env, o, "stored", b);
    ws_set_str(env, o, "reason", ev->reason);
    return o;
  }
  if (ev->kind == WS_EV_ERROR) {
    ws_set_str(env, o, "stage", STAGES[ev->stage < sizeof STAGES / sizeof *STAGES ? ev->stage : 0]);
    ws_set_str(env, o, "reason", ev->reason);
    return o;
  }
  ws_set_str(env, o, "sni", ev->sni);
  ws_set_str(env, o, "version", ev->version);
  ws_set_str(env, o, "cipher", ev->cipher);
  ws_set_str(env, o, "alpn", ev->alpn);
  napi_get_boolean(env, ev->resumed != 0, &b);
  napi_set_named_property(env, o, "resumed", b);
  ws_set_str(env, o, "method", METHODS[ev->method < 4 ? ev->method : 0]);
  ws_set_str(env, o, "miss", MISSES[ev->miss < 8 ? ev->miss : 0]);
  ws_set_str(env, o, "offered", ev->offered);
  napi_create_double(env, ev->duration_ms, &d);
  napi_set_named_property(env, o, "duration", d);
  return o;
}
