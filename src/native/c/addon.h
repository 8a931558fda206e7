#ifndef WS_ADDON_H
#define WS_ADDON_H
#include "napi_util.h"
#include "shm.h"
int ws_read_offsets (napi_env env, napi_value o, ws_store_offsets *out);
int ws_init_store_hooks (napi_env env, napi_value exports);
int ws_init_engine (napi_env env, napi_value exports);
#endif
