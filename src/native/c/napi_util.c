#include <stdio.h>
#include <string.h>
#include "napi_util.h"

napi_value ws_throw (napi_env env, const char *message) {
  napi_throw_error(env, "WS_ERR_NATIVE_ENGINE", message);
  return NULL;
}

void *ws_handle_args (napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || !p) { ws_throw(env, usage); return NULL; }
  return p;
}

int ws_get_prop (napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has ||
      napi_get_named_property(env, obj, name, out) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "native engine: option %s is missing", name);
    napi_throw_type_error(env, "WS_ERR_NATIVE_ENGINE", msg);
    return -1;
  }
  return 0;
}

int ws_get_int (napi_env env, napi_value obj, const char *name, int64_t *out) {
  napi_value v;
  if (ws_get_prop(env, obj, name, &v) || napi_get_value_int64(env, v, out) != napi_ok) return -1;
  return 0;
}

int ws_get_double (napi_env env, napi_value obj, const char *name, double *out) {
  napi_value v;
  if (ws_get_prop(env, obj, name, &v) || napi_get_value_double(env, v, out) != napi_ok) return -1;
  return 0;
}

int ws_get_bool (napi_env env, napi_value obj, const char *name, int *out) {
  napi_value v;
  bool b = false;
  if (ws_get_prop(env, obj, name, &v) || napi_get_value_bool(env, v, &b) != napi_ok) return -1;
  *out = b;
  return 0;
}

int ws_get_string (napi_env env, napi_value obj, const char *name, char *buf, size_t cap) {
  napi_value v;
  size_t len = 0;
  if (ws_get_prop(env, obj, name, &v)) return -1;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len + 1 > cap) {
    ws_throw(env, "native engine: a string option is too long or not a string");
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  return 0;
}

int ws_bytes_of (napi_env env, napi_value value, uint8_t **data, size_t *len) {
  bool is = false;
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void *p = NULL;
  napi_value ab;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return -1;
  if (napi_get_typedarray_info(env, value, &type, &count, &p, &ab, &offset) != napi_ok) return -1;
  size_t width = type == napi_int32_array || type == napi_uint32_array || type == napi_float32_array ? 4
    : type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array ? 8
    : type == napi_int16_array || type == napi_uint16_array ? 2 : 1;
  *data = p;
  *len = count * width;
  return 0;
}

int ws_get_bytes (napi_env env, napi_value obj, const char *name, uint8_t **data, size_t *len, napi_value *holder) {
  napi_value v;
  if (ws_get_prop(env, obj, name, &v)) return -1;
  if (ws_bytes_of(env, v, data, len)) {
    char msg[128];
    snprintf(msg, sizeof msg, "native engine: option %s must be a typed array", name);
    napi_throw_type_error(env, "WS_ERR_NATIVE_ENGINE", msg);
    return -1;
  }
  if (holder) *holder = v;
  return 0;
}

int ws_array_length (napi_env env, napi_value arr, uint32_t *len) {
  bool is = false;
  if (napi_is_array(env, arr, &is) != napi_ok || !is || napi_get_array_length(env, arr, len) != napi_ok) {
    ws_throw(env, "native engine: expected an array");
    return -1;
  }
  return 0;
}

napi_value ws_set_int (napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value n;
  NAPI_OK(napi_create_int64(env, v, &n));
  NAPI_OK(napi_set_named_property(env, obj, name, n));
  return obj;
}

napi_value ws_set_str (napi_env env, napi_value obj, const char *name, const char *s) {
  napi_value n;
  NAPI_OK(napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &n));
  NAPI_OK(napi_set_named_property(env, obj, name, n));
  return obj;
}
