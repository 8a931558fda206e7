/* N-API: the engine's end. Stop with a drain period, join, free what the engine owns in
 * C. When the worker ends first (it died), the engine detaches and drains on its own;
 * the handle goes when both the thread and the JS external are done with it. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "addon_engine.h"

/* What the engine owns in C: certificates, its own listeners, descriptors, keys, events. */
void ws_engine_free (ws_engine *e) {
  for (int f = 0; f < e->nfe; f++) {
    ws_ssl_spares_free(&e->fe[f]);
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

void ws_handle_drop_ref (engine_handle *h) {
  if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_SEQ_CST) > 0) return;
  pthread_mutex_destroy(&h->e.mu);
  pthread_cond_destroy(&h->e.cond);
  free(h);
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
  ws_engine_free(e);
  release_js(h);
}

void ws_handle_cleanup_hook (void *arg) {
  engine_handle *h = arg;
  if (h->e.started && !h->joined && !h->detached) detach_thread(h);
  release(h);
}

void ws_handle_finalize (napi_env env, void *data, void *hint) {
  (void)hint;
  engine_handle *h = data;
  release(h);
  napi_remove_env_cleanup_hook(env, ws_handle_cleanup_hook, h);
  ws_handle_drop_ref(h);
}

napi_value ws_napi_engine_stop (napi_env env, napi_callback_info info) {
  napi_value argv[2];
  engine_handle *h = ws_engine_handle_of(env, info, 2, argv);
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

napi_value ws_napi_engine_join (napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_handle *h = ws_engine_handle_of(env, info, 1, argv);
  if (!h) return NULL;
  release(h);
  return NULL;
}

