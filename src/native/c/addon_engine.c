/* N-API surface of the engine: start (config in, listening ports out), drain the event
 * ring, connection count, stop with a drain period, join. The engine thread reaches JS
 * only through a thread-safe function that says "events waiting" or "stopped". When the
 * worker ends first (it died), the engine detaches and drains on its own. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "addon.h"
#include "conn.h"
#include "ws_layout.h"

#define EVENT_RING 4096

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

static void notify (ws_engine *e) {
  engine_handle *h = (engine_handle *)e;
  napi_call_threadsafe_function(h->tsfn, NULL, napi_tsfn_nonblocking);
}

static void call_js (napi_env env, napi_value cb, void *context, void *data) {
  (void)context; (void)data;
  if (!env || !cb) return;
  napi_value global;
  napi_get_global(env, &global);
  napi_call_function(env, global, cb, 0, NULL, NULL);
}

/* What the engine owns in C: certificates, its own listeners, descriptors, keys, events. */
static void free_engine (ws_engine *e) {
  for (int f = 0; f < e->nfe; f++) {
    for (int c = 0; c < e->fe[f].ncerts; c++) { SSL_CTX_free(e->fe[f].certs[c].ctx); e->fe[f].certs[c].ctx = NULL; }
    /* The process's listening descriptors are the supervisor's to close. */
    if (e->fe[f].listen_fd >= 0 && !e->fe[f].shared_listener) close(e->fe[f].listen_fd);
    e->fe[f].listen_fd = -1;
    ws_frontend_free(&e->fe[f]);
    ws_clients_free(&e->fe[f].conn_budget);
    ws_clients_free(&e->fe[f].session_budget);
  }
  e->nfe = 0;
  if (e->epfd >= 0) { close(e->epfd); e->epfd = -1; }
  if (e->wakefd >= 0) { close(e->wakefd); e->wakefd = -1; }
  if (e->bound) { OPENSSL_cleanse(e->bound, sizeof *e->bound * WS_MAX_FRONTENDS); free(e->bound); e->bound = NULL; }
  OPENSSL_cleanse(e->keys, sizeof e->keys);
  ws_events_free(&e->events);
  ws_tier_free(&e->tier);
}

static void drop_ref (engine_handle *h) {
  if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_SEQ_CST) > 0) return;
  pthread_mutex_destroy(&h->e.mu);
  pthread_cond_destroy(&h->e.cond);
  free(h);
}

static void *thread_main (void *arg) {
  engine_handle *h = arg;
  ws_engine *e = &h->e;
  ws_engine_run(e);
  pthread_mutex_lock(&e->mu);
  int detached = e->detached;
  __atomic_store_n(&e->stopped, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->mu);
  if (!detached) { notify(e); return NULL; }
  free_engine(e);
  drop_ref(h);
  ws_engine_detached_end();
  return NULL;
}

/* The worker's thread is ending (an uncaught exception, or terminate()) with the engine
 * running: rather than cut its connections, the engine stops accepting and drains them
 * for its drain time on its own. Waits until the engine no longer touches the worker's
 * memory; 0 when the engine had already stopped (then it is joined as usual). */
static int detach_thread (engine_handle *h) {
  ws_engine *e = &h->e;
  __atomic_store_n(&h->refs, 2, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&e->mu);
  __atomic_store_n(&e->detach_req, 1, __ATOMIC_SEQ_CST);
  ws_engine_wake(e);
  while (!e->detached && !__atomic_load_n(&e->stopped, __ATOMIC_SEQ_CST)) pthread_cond_wait(&e->cond, &e->mu);
  int detached = e->detached;
  pthread_mutex_unlock(&e->mu);
  if (!detached) { __atomic_store_n(&h->refs, 1, __ATOMIC_SEQ_CST); return 0; }
  pthread_detach(e->thread);
  h->detached = 1;
  h->joined = 1;
  return 1;
}

static void release_js (engine_handle *h) {
  if (h->tsfn) { napi_release_threadsafe_function(h->tsfn, napi_tsfn_abort); h->tsfn = NULL; }
  if (h->store_ref) { napi_delete_reference(h->env, h->store_ref); h->store_ref = NULL; }
  if (h->ring_ref) { napi_delete_reference(h->env, h->ring_ref); h->ring_ref = NULL; }
  if (h->up_ref) { napi_delete_reference(h->env, h->up_ref); h->up_ref = NULL; }
  if (h->counters_ref) { napi_delete_reference(h->env, h->counters_ref); h->counters_ref = NULL; }
}

static void release (engine_handle *h) {
  ws_engine *e = &h->e;
  if (h->detached) { release_js(h); return; }
  if (e->started && !h->joined) {
    __atomic_store_n(&e->stopping, 1, __ATOMIC_SEQ_CST);
    ws_engine_wake(e);
    pthread_join(e->thread, NULL);
  }
  h->joined = 1;
  e->started = 0;
  free_engine(e);
  release_js(h);
}

static void cleanup_hook (void *arg) {
  engine_handle *h = arg;
  if (h->e.started && !h->joined && !h->detached) detach_thread(h);
  release(h);
}

static void finalize (napi_env env, void *data, void *hint) {
  (void)hint;
  engine_handle *h = data;
  release(h);
  napi_remove_env_cleanup_hook(env, cleanup_hook, h);
  drop_ref(h);
}

static napi_value engine_start (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], frontends, v;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return ws_throw(env, "engineStart(options, onEvents)");
  engine_handle *h = calloc(1, sizeof *h);
  if (!h) return ws_throw(env, "out of memory");
  ws_engine *e = &h->e;
  h->env = env;
  h->refs = 1;
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cond, NULL);
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  e->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  e->bound = calloc(WS_MAX_FRONTENDS, sizeof *e->bound);
  e->nkeys = -1;
  e->notify = notify;
  napi_value ext;
  if (napi_create_external(env, h, finalize, NULL, &ext) != napi_ok) { free(h); return NULL; }
  napi_add_env_cleanup_hook(env, cleanup_hook, h);
  int64_t ring = EVENT_RING;
  bool has = false;
  /* a smaller ring only for tests of what a full one does (WARMSHAKE_NATIVE_EVENT_RING) */
  if (napi_has_named_property(env, argv[0], "eventRing", &has) == napi_ok && has && ws_get_int(env, argv[0], "eventRing", &ring)) return NULL;
  if (ring < 1 || ring > EVENT_RING) return ws_throw(env, "native engine: eventRing is 1 to 4096");
  if (e->epfd < 0 || e->wakefd < 0 || !e->bound || ws_events_init(&e->events, (uint32_t)ring) != 0) return ws_throw(env, "native engine: out of resources");
  e->wh = (ws_handle){ WS_HK_WAKE, e };
  struct epoll_event wev = { .events = EPOLLIN, .data.ptr = &e->wh };
  epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &wev);
  int64_t tag;
  if (ws_get_int(env, argv[0], "tag", &tag) || ws_get_double(env, argv[0], "drainMs", &e->drain_ms)) return NULL;
  if (napi_has_named_property(env, argv[0], "store", &has) == napi_ok && has) {
    uint8_t *base;
    size_t len;
    ws_store_offsets o;
    if (ws_get_bytes(env, argv[0], "store", &base, &len, &v) || ws_get_prop(env, argv[0], "layout", &frontends) ||
        ws_read_offsets(env, frontends, &o)) return NULL;
    if (ws_store_attach(&e->store, base, len, &o, (int32_t)tag) != 0) return ws_throw(env, "native engine: not a shared store of this layout");
    napi_create_reference(env, v, 1, &h->store_ref);
    e->has_store = 1;
  }
  if (napi_has_named_property(env, argv[0], "ring", &has) == napi_ok && has) {
    uint8_t *base;
    size_t len;
    if (ws_get_bytes(env, argv[0], "ring", &base, &len, &v)) return NULL;
    e->ring = (int32_t *)(void *)base;
    e->ring_words = len / 4;
    napi_create_reference(env, v, 1, &h->ring_ref);
  }
  if (napi_has_named_property(env, argv[0], "counters", &has) == napi_ok && has) {
    uint8_t *base;
    size_t len;
    if (ws_get_bytes(env, argv[0], "counters", &base, &len, &v)) return NULL;
    if (len < (size_t)WS_NC_WORDS * 8 || ((uintptr_t)base & 7) != 0) return ws_throw(env, "native engine: counters of another layout");
    e->counters = (int64_t *)(void *)base;
    napi_create_reference(env, v, 1, &h->counters_ref);
  }
  int32_t *up = NULL;
  size_t up_words = 0;
  if (napi_has_named_property(env, argv[0], "serverUp", &has) == napi_ok && has) {
    uint8_t *base;
    size_t len;
    if (ws_get_bytes(env, argv[0], "serverUp", &base, &len, &v)) return NULL;
    up = (int32_t *)(void *)base;
    up_words = len / 4;
    napi_create_reference(env, v, 1, &h->up_ref);
  }
  if (napi_has_named_property(env, argv[0], "tier", &has) == napi_ok && has) {
    double timeout;
    if (ws_get_prop(env, argv[0], "tier", &v) || ws_get_double(env, v, "timeout", &timeout)) return NULL;
    if (ws_tier_init(&e->tier, timeout) != 0) return ws_throw(env, "native engine: out of resources");
  }
  uint32_t n;
  if (ws_get_prop(env, argv[0], "frontends", &frontends) || ws_array_length(env, frontends, &n)) return NULL;
  if (n == 0 || n > WS_MAX_FRONTENDS) return ws_throw(env, "native engine: 1 to 16 frontends");
  for (uint32_t i = 0; i < n; i++) {
    if (ws_element(env, frontends, i, &v)) return NULL;
    e->fe[i].index = (int)i;
    e->nfe = (int)i + 1;
    if (ws_read_frontend(env, v, e, &e->fe[i], up, up_words)) return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "warmshake native engine", NAPI_AUTO_LENGTH, &name);
  NAPI_OK(napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &h->tsfn));
  napi_unref_threadsafe_function(env, h->tsfn);
  ws_tickets_refresh(e);
  if (pthread_create(&e->thread, NULL, thread_main, h) != 0) return ws_throw(env, "native engine: cannot start its thread");
  e->started = 1;
  return ext;
}

static engine_handle *handle_of (napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  return ws_handle_args(env, info, want, argv, "expected an engine handle");
}
static napi_value engine_drain (napi_env env, napi_callback_info info) {
  napi_value argv[1], result, text, b;
  engine_handle *h = handle_of(env, info, 1, argv);
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
static napi_value engine_answer (napi_env env, napi_callback_info info) {
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

static napi_value engine_connections (napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  engine_handle *h = handle_of(env, info, 1, argv);
  if (!h) return NULL;
  NAPI_OK(napi_create_array(env, &r));
  for (int i = 0; i < h->e.nfe; i++) {
    napi_value v;
    napi_create_int32(env, __atomic_load_n(&h->e.fe[i].nconns, __ATOMIC_SEQ_CST), &v);
    napi_set_element(env, r, (uint32_t)i, v);
  }
  return r;
}

static napi_value engine_ports (napi_env env, napi_callback_info info) {
  napi_value argv[1], arr, v;
  engine_handle *h = handle_of(env, info, 1, argv);
  if (!h) return NULL;
  NAPI_OK(napi_create_array(env, &arr));
  for (int i = 0; i < h->e.nfe; i++) {
    napi_create_int32(env, h->e.fe[i].port, &v);
    napi_set_element(env, arr, (uint32_t)i, v);
  }
  return arr;
}

static napi_value engine_stop (napi_env env, napi_callback_info info) {
  napi_value argv[2];
  engine_handle *h = handle_of(env, info, 2, argv);
  if (!h) return NULL;
  double drain = 0;
  napi_get_value_double(env, argv[1], &drain);
  if (!h->e.started || h->joined) return NULL;
  h->e.drain_ms = drain;
  /* Keep the worker alive until the engine says it stopped. */
  napi_ref_threadsafe_function(env, h->tsfn);
  __atomic_store_n(&h->e.stopping, 1, __ATOMIC_SEQ_CST);
  ws_engine_wake(&h->e);
  return NULL;
}

static napi_value engine_join (napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_handle *h = handle_of(env, info, 1, argv);
  if (!h) return NULL;
  release(h);
  return NULL;
}

int ws_init_engine (napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "engineStart", NULL, engine_start, NULL, NULL, NULL, napi_default, NULL },
    { "engineDrain", NULL, engine_drain, NULL, NULL, NULL, napi_default, NULL },
    { "engineConnections", NULL, engine_connections, NULL, NULL, NULL, napi_default, NULL },
    { "enginePorts", NULL, engine_ports, NULL, NULL, NULL, napi_default, NULL },
    { "engineStop", NULL, engine_stop, NULL, NULL, NULL, napi_default, NULL },
    { "engineJoin", NULL, engine_join, NULL, NULL, NULL, napi_default, NULL },
    { "engineAnswer", NULL, engine_answer, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof d / sizeof d[0], d) == napi_ok ? 0 : -1;
}
