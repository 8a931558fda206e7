/* N-API test hooks over the C store (get/set/delete on a SharedArrayBuffer the TS side
 * created), so the store conformance suite runs against the C implementation, and the
 * compiled layout constants, so a test compares the C view with the TS one. */
#include <stdlib.h>
#include <string.h>
#include "addon.h"
#include "shm.h"
#include "ws_layout.h"

typedef struct {
  ws_store store;
  napi_ref buffer; /* keeps the SharedArrayBuffer alive while C points into it */
} store_handle;

static void finalize_store (napi_env env, void *data, void *hint) {
  (void)hint;
  store_handle *h = data;
  napi_delete_reference(env, h->buffer);
  free(h);
}

int ws_read_offsets (napi_env env, napi_value o, ws_store_offsets *out) {
  return ws_get_int(env, o, "counters", &out->counters) || ws_get_int(env, o, "lifetime", &out->lifetime) ||
    ws_get_int(env, o, "buckets", &out->buckets) || ws_get_int(env, o, "entries", &out->entries) ||
    ws_get_int(env, o, "blockNext", &out->block_next) || ws_get_int(env, o, "data", &out->data) ||
    ws_get_int(env, o, "bytes", &out->bytes) ? -1 : 0;
}

/* storeOpen(bytes: Uint8Array over the SharedArrayBuffer, layout: Layout, tag) */
static napi_value store_open (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base;
  size_t len;
  ws_store_offsets o;
  int32_t tag;
  if (argc < 3 || ws_bytes_of(env, argv[0], &base, &len) || ws_read_offsets(env, argv[1], &o) ||
      napi_get_value_int32(env, argv[2], &tag) != napi_ok) return ws_throw(env, "storeOpen(bytes, layout, tag)");
  store_handle *h = calloc(1, sizeof *h);
  if (!h) return ws_throw(env, "out of memory");
  if (ws_store_attach(&h->store, base, len, &o, tag) != 0) { free(h); return ws_throw(env, "not a shared store of this layout"); }
  napi_create_reference(env, argv[0], 1, &h->buffer);
  napi_value ext;
  NAPI_OK(napi_create_external(env, h, finalize_store, NULL, &ext));
  return ext;
}

static napi_value store_get (napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  store_handle *h = ws_handle_args(env, info, 2, argv, "storeGet(handle, key)");
  uint8_t *key;
  size_t klen;
  if (!h) return NULL;
  if (ws_bytes_of(env, argv[1], &key, &klen)) return ws_throw(env, "storeGet(handle, key)");
  size_t cap = (size_t)h->store.max_value, vlen = 0;
  uint8_t *out = malloc(cap > 0 ? cap : 1);
  if (!out) return ws_throw(env, "out of memory");
  int miss = 0;
  double ttl = 0;
  int rc = ws_store_get(&h->store, key, klen, out, cap, &vlen, &miss, &ttl);
  NAPI_OK(napi_create_object(env, &result));
  if (rc == 1) {
    napi_value buf;
    void *copy;
    napi_value t;
    if (napi_create_buffer_copy(env, vlen, out, &copy, &buf) == napi_ok) napi_set_named_property(env, result, "value", buf);
    if (napi_create_double(env, ttl, &t) == napi_ok) napi_set_named_property(env, result, "ttl", t);
  } else {
    ws_set_str(env, result, "miss", miss == WS_MISS_EXPIRED ? "expired" : "unknown");
  }
  free(out);
  return result;
}

static napi_value store_set (napi_env env, napi_callback_info info) {
  napi_value argv[4], result;
  store_handle *h = ws_handle_args(env, info, 4, argv, "storeSet(handle, key, value, ttl)");
  uint8_t *key, *value;
  size_t klen, vlen;
  double ttl;
  if (!h) return NULL;
  if (ws_bytes_of(env, argv[1], &key, &klen) || ws_bytes_of(env, argv[2], &value, &vlen) ||
      napi_get_value_double(env, argv[3], &ttl) != napi_ok) return ws_throw(env, "storeSet(handle, key, value, ttl)");
  NAPI_OK(napi_get_boolean(env, ws_store_set(&h->store, key, klen, value, vlen, ttl) == 1, &result));
  return result;
}

static napi_value store_delete (napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  store_handle *h = ws_handle_args(env, info, 2, argv, "storeDelete(handle, key)");
  uint8_t *key;
  size_t klen;
  if (!h) return NULL;
  if (ws_bytes_of(env, argv[1], &key, &klen)) return ws_throw(env, "storeDelete(handle, key)");
  NAPI_OK(napi_get_boolean(env, ws_store_delete(&h->store, key, klen) == 1, &result));
  return result;
}

/* storeHoldLock(handle): takes the lock and keeps it (a test kills the thread that holds it). */
static napi_value store_hold_lock (napi_env env, napi_callback_info info) {
  napi_value argv[1];
  store_handle *h = ws_handle_args(env, info, 1, argv, "storeHoldLock(handle)");
  if (!h) return NULL;
  ws_lock_acquire(&h->store.lock);
  h->store.header[WS_H_DIRTY] = 1; /* as if it died in the middle of a change */
  return NULL;
}

static napi_value layout (napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj;
  NAPI_OK(napi_create_object(env, &obj));
#define WS_EXPORT_CONSTANT(name) ws_set_int(env, obj, #name, name);
  WS_LAYOUT_LIST(WS_EXPORT_CONSTANT)
#undef WS_EXPORT_CONSTANT
  return obj;
}

int ws_init_store_hooks (napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "storeOpen", NULL, store_open, NULL, NULL, NULL, napi_default, NULL },
    { "storeGet", NULL, store_get, NULL, NULL, NULL, napi_default, NULL },
    { "storeSet", NULL, store_set, NULL, NULL, NULL, napi_default, NULL },
    { "storeDelete", NULL, store_delete, NULL, NULL, NULL, napi_default, NULL },
    { "storeHoldLock", NULL, store_hold_lock, NULL, NULL, NULL, napi_default, NULL },
    { "layout", NULL, layout, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof d / sizeof d[0], d) == napi_ok ? 0 : -1;
}
