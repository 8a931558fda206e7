/* The engine's handle shared by the N-API files: addon_engine.c (start and the engine's
 * thread), addon_engine_end.c (stop, join, detach, free), addon_engine_calls.c (drain,
 * answer, counts, ports). */
#ifndef WS_ADDON_ENGINE_H
#define WS_ADDON_ENGINE_H
#include "addon.h"
#include "conn.h"

typedef struct engine_handle {
  ws_engine e;
  napi_env env;
  napi_threadsafe_function tsfn;
  napi_ref store_ref, ring_ref, up_ref, counters_ref;
  int joined;
  /* The worker ended with the engine running: the thread drains on its own and frees
   * the engine; the handle goes when both it and the JS external are done (refs). */
  int detached;
  int refs; /* __atomic */
} engine_handle;

static inline engine_handle *ws_engine_handle_of (napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  return ws_handle_args(env, info, want, argv, "expected an engine handle");
}

/* addon_engine_end.c */
void ws_engine_free (ws_engine *e);
void ws_handle_drop_ref (engine_handle *h);
void ws_handle_cleanup_hook (void *arg);
void ws_handle_finalize (napi_env env, void *data, void *hint);
napi_value ws_napi_engine_stop (napi_env env, napi_callback_info info);
napi_value ws_napi_engine_join (napi_env env, napi_callback_info info);
/* addon_engine_calls.c */
napi_value ws_napi_engine_drain (napi_env env, napi_callback_info info);
napi_value ws_napi_engine_answer (napi_env env, napi_callback_info info);
napi_value ws_napi_engine_connections (napi_env env, napi_callback_info info);
napi_value ws_napi_engine_ports (napi_env env, napi_callback_info info);
#endif
