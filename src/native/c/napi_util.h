/* Small N-API helpers: read typed properties of the option objects the binding passes. */
#ifndef WS_NAPI_UTIL_H
#define WS_NAPI_UTIL_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define NAPI_OK(call) do { if ((call) != napi_ok) return NULL; } while (0)
/* One method of an exports table (napi_define_properties). */
#define WS_NAPI_FN(name, fn) { (name), NULL, (fn), NULL, NULL, NULL, napi_default, NULL }

napi_value ws_throw (napi_env env, const char *message);
/* For a call whose first argument is an external handle: fills argv[0..want-1] and
   returns the handle, or NULL with `usage` thrown when an argument is missing. */
void *ws_handle_args (napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage);
/* Each returns 0 on success, -1 (and a pending exception) when missing or of the wrong type. */
int ws_get_prop (napi_env env, napi_value obj, const char *name, napi_value *out);
int ws_get_int (napi_env env, napi_value obj, const char *name, int64_t *out);
int ws_get_double (napi_env env, napi_value obj, const char *name, double *out);
int ws_get_bool (napi_env env, napi_value obj, const char *name, int *out);
/* Copies a string into buf (NUL-terminated); fails when it does not fit. */
int ws_get_string (napi_env env, napi_value obj, const char *name, char *buf, size_t cap);
/* Data pointer of a Buffer/TypedArray property (shared memory included) and its length. */
int ws_get_bytes (napi_env env, napi_value obj, const char *name, uint8_t **data, size_t *len, napi_value *holder);
int ws_bytes_of (napi_env env, napi_value value, uint8_t **data, size_t *len);
int ws_array_length (napi_env env, napi_value arr, uint32_t *len);
napi_value ws_set_int (napi_env env, napi_value obj, const char *name, int64_t v);
napi_value ws_set_str (napi_env env, napi_value obj, const char *name, const char *s);
#endif
