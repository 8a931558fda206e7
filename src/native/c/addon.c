/* The module: store test hooks, layout constants, the engine (start, events, stop) and the process's listening sockets. */
#include <openssl/crypto.h>
#include "addon.h"

static napi_value init (napi_env env, napi_value exports) {
  if (ws_init_store_hooks(env, exports) || ws_init_engine(env, exports) || ws_init_listen(env, exports)) return NULL;
  /* The OpenSSL the addon talks to is the node binary's own: say which, for `show info`. */
  ws_set_str(env, exports, "openssl", OpenSSL_version(OPENSSL_VERSION));
  return exports;
}

NAPI_MODULE_INIT () {
  return init(env, exports);
}
