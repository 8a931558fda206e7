#ifndef WS_ADDON_H
#define WS_ADDON_H
#include "napi_util.h"
#include "shm.h"
int ws_read_offsets (napi_env env, napi_value o, ws_store_offsets *out);
int ws_init_store_hooks (napi_env env, napi_value exports);
int ws_init_engine (napi_env env, napi_value exports);
int ws_init_listen (napi_env env, napi_value exports);
int ws_element (napi_env env, napi_value arr, uint32_t i, napi_value *out);
struct ws_event;
struct ws_tier_msg;
/* A Redis tier message for JS; frees the engine's copy of its record. */
napi_value ws_tier_object (napi_env env, struct ws_tier_msg *m);
/* A growing byte buffer for the drain's text (addon_events.c). */
typedef struct ws_text { char *bytes; size_t len, cap; int oom; } ws_text;
int ws_text_init (ws_text *t, size_t cap);
/* Appends one record; on allocation failure sets `oom` (the drain throws). */
void ws_event_text (ws_text *t, const struct ws_event *ev);
struct ws_engine;
struct ws_frontend;
/* -1 with an exception pending on a bad option. */
int ws_read_frontend (napi_env env, napi_value o, struct ws_engine *e, struct ws_frontend *f, int32_t *up, size_t up_words);
/* addon_backends.c: the frontend's backends, use_backend rules, allow and deny lists. */
int ws_read_routing (napi_env env, napi_value o, struct ws_frontend *f, int32_t *up, size_t up_words);
#endif
