/* N-API calls on a running engine: drain the event ring and the Redis tier's messages,
 * the tier's answers back, connection counts, listening ports. */
#include <stdlib.h>
#include "addon_engine.h"

napi_value ws_napi_engine_drain (napi_env env, napi_callback_info info) {
  napi_value argv[1], result, text, b;
  engine_handle *h = ws_engine_handle_of(env, info, 1, argv);
  if (!h) return NULL;
  ws_text t;
  if (ws_text_init(&t, 4096) != 0) { napi_throw_error(env, NULL, "out of memory draining engine events"); return NULL; }
  ws_event batch[64];
  size_t n;
  while (h->e.events.slots && (n = ws_events_pop(&h->e.events, batch, 64)) > 0) {
    for (size_t i = 0; i < n; i++) ws_event_text(&t, &batch[i]);
  }
  napi_status st = t.oom ? napi_generic_failure : napi_create_string_utf8(env, t.bytes, t.len, &text);
  free(t.bytes);
  if (t.oom) { napi_throw_error(env, NULL, "out of memory draining engine events"); return NULL; }
  NAPI_OK(st);
  NAPI_OK(napi_create_object(env, &result));
  napi_set_named_property(env, result, "events", text);
  napi_value list;
  NAPI_OK(napi_create_array(env, &list));
  napi_set_named_property(env, result, "tier", list);
  ws_tier_msg msgs[64];
  uint32_t at = 0;
  while ((n = ws_tier_take(&h->e.tier, msgs, 64)) > 0) {
    for (size_t i = 0; i < n; i++) napi_set_element(env, list, at++, ws_tier_object(env, &msgs[i]));
  }
  napi_get_boolean(env, __atomic_load_n(&h->e.stopped, __ATOMIC_SEQ_CST) != 0, &b);
  napi_set_named_property(env, result, "stopped", b);
  return result;
}

/* engineAnswer(handle, token, result): the Redis tier's answer to one lookup (tier.h ws_tier_result). */
napi_value ws_napi_engine_answer (napi_env env, napi_callback_info info) {
  napi_value argv[3];
  engine_handle *h = ws_handle_args(env, info, 3, argv, "engineAnswer(engine, token, result)");
  if (!h) return NULL;
  uint32_t token = 0, result = 0;
  napi_get_value_uint32(env, argv[1], &token);
  napi_get_value_uint32(env, argv[2], &result);
  if (h->joined || result < WS_TR_HIT || result > WS_TR_SENT) return NULL;
  if (ws_tier_answer(&h->e.tier, token, (uint8_t)result)) ws_engine_wake(&h->e);
  return NULL;
}

napi_value ws_napi_engine_connections (napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  engine_handle *h = ws_engine_handle_of(env, info, 1, argv);
  if (!h) return NULL;
  NAPI_OK(napi_create_array(env, &r));
  for (int i = 0; i < h->e.nfe; i++) {
    napi_value v;
    napi_create_int32(env, __atomic_load_n(&h->e.fe[i].nconns, __ATOMIC_SEQ_CST), &v);
    napi_set_element(env, r, (uint32_t)i, v);
  }
  return r;
}

napi_value ws_napi_engine_ports (napi_env env, napi_callback_info info) {
  napi_value argv[1], arr, v;
  engine_handle *h = ws_engine_handle_of(env, info, 1, argv);
  if (!h) return NULL;
  NAPI_OK(napi_create_array(env, &arr));
  for (int i = 0; i < h->e.nfe; i++) {
    napi_create_int32(env, h->e.fe[i].port, &v);
    napi_set_element(env, arr, (uint32_t)i, v);
  }
  return arr;
}
