#include "addon.h"
int ws_init_engine (napi_env env, napi_value exports) { (void)env; (void)exports; return 0; }
