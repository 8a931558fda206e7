/* N-API: the engine's start (config in, listening ports out) and its thread. The engine
 * thread reaches JS only through a thread-safe function that says "events waiting" or
 * "stopped"; stop, join and detach are addon_engine_end.c's, the other calls
 * addon_engine_calls.c's. And the exports. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "addon_engine.h"
#include "ws_layout.h"

#define EVENT_RING 4096

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

static void *thread_main (void *arg) {
  engine_handle *h = arg;
  ws_engine *e = &h->e;
  /* Named, so `top -H`, perf and bench/perf-case.ts --tool threads tell it from its worker. */
  pthread_setname_np(pthread_self(), "ws-engine");
  ws_engine_run(e);
  pthread_mutex_lock(&e->mu);
  int detached = e->detached;
  __atomic_store_n(&e->stopped, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->mu);
  if (!detached) { notify(e); return NULL; }
  ws_engine_free(e);
  ws_handle_drop_ref(h);
  ws_engine_detached_end();
  return NULL;
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
  if (napi_create_external(env, h, ws_handle_finalize, NULL, &ext) != napi_ok) { free(h); return NULL; }
  napi_add_env_cleanup_hook(env, ws_handle_cleanup_hook, h);
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
    int64_t pending = WS_TIER_PENDING, out = WS_TIER_OUT;
    if (ws_get_prop(env, argv[0], "tier", &v) || ws_get_double(env, v, "timeout", &timeout)) return NULL;
    /* smaller bounds only for tests of what the tier drops (WARMSHAKE_NATIVE_TIER_PENDING, _QUEUE) */
    if (napi_has_named_property(env, v, "pending", &has) == napi_ok && has && ws_get_int(env, v, "pending", &pending)) return NULL;
    if (napi_has_named_property(env, v, "queue", &has) == napi_ok && has && ws_get_int(env, v, "queue", &out)) return NULL;
    if (pending < 0 || pending > WS_TIER_PENDING || out < 0 || out > WS_TIER_OUT) return ws_throw(env, "native engine: tier pending is 0 to 256, queue 0 to 1024");
    if (ws_tier_init(&e->tier, timeout, (uint32_t)pending, (uint32_t)out) != 0) return ws_throw(env, "native engine: out of resources");
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

int ws_init_engine (napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    WS_NAPI_FN("engineStart", engine_start),
    WS_NAPI_FN("engineDrain", ws_napi_engine_drain),
    WS_NAPI_FN("engineConnections", ws_napi_engine_connections),
    WS_NAPI_FN("enginePorts", ws_napi_engine_ports),
    WS_NAPI_FN("engineStop", ws_napi_engine_stop),
    WS_NAPI_FN("engineJoin", ws_napi_engine_join),
    WS_NAPI_FN("engineAnswer", ws_napi_engine_answer),
  };
  return napi_define_properties(env, exports, sizeof d / sizeof d[0], d) == napi_ok ? 0 : -1;
}
