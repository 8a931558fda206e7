/* Listening sockets. The supervisor (main thread) opens one per frontend address with
 * listenerOpen() and keeps it for the life of the process: every worker's engine thread
 * adds that descriptor to its own epoll set (EPOLLEXCLUSIVE: one idle thread is woken
 * per connection, not all) and never closes it. Descriptors belong to the process, not
 * to a thread, so while no worker runs (one that died, its replacement not yet started)
 * the kernel keeps queueing connections in the backlog instead of refusing them, and a
 * worker that stops leaves no accept queue behind to reset.
 *
 * Engine node's workers serve a copy each (listenerDup), closed with their server.
 *
 * SO_REUSEPORT stays set: `shared_port: true` lets a second process (a binary upgrade)
 * share the port. Another process is kept off a port by assertBindsFree
 * (runtime/address-holder.ts), which binds without it first. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "addon.h"
#include "conn.h"

/* host:port as the config writes it, [v6]:port for an IPv6 address. */
static void address_name (char *out, size_t cap, const char *host, int port) {
  snprintf(out, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host[0] ? host : "*", port);
}

int ws_listen_open (const char *host, int port, int backlog, int *bound_port, char *err, size_t errlen) {
  char name[96];
  address_name(name, sizeof name, host, port);
  struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai = NULL;
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  int rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &ai);
  if (rc != 0) { snprintf(err, errlen, "listen %s: %s", name, gai_strerror(rc)); errno = EINVAL; return -1; }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      /* Before listen(): every connection accepted from it carries TCP_NODELAY (engine.c). */
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog > 0 ? backlog : 511) != 0) {
    int why = errno;
    snprintf(err, errlen, "listen %s: %s", name, strerror(why));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    errno = why; /* the caller names it (EADDRINUSE) */
    return -1;
  }
  freeaddrinfo(ai);
  *bound_port = ws_listen_port(fd);
  return fd;
}

int ws_listen_port (int fd) {
  struct sockaddr_storage bound;
  socklen_t len = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &len) != 0) return -1;
  if (bound.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
  if (bound.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&bound)->sin_port);
  return -1;
}

/* listenerOpen(host, port, backlog) → { fd, port }: a bound, listening, non-blocking
 * socket the caller owns (closed with fs.closeSync). Throws "listen HOST:PORT: reason",
 * with code EADDRINUSE or EACCES when it is one of those. */
static napi_value listener_open (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  char host[64], err[160];
  size_t len = 0;
  int32_t port = -1, backlog = 0;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &len) != napi_ok || len >= sizeof host - 1 ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &backlog) != napi_ok ||
      port < 0 || port > 65535) return ws_throw(env, "listenerOpen(host, port 0-65535, backlog)");
  int bound = 0;
  int fd = ws_listen_open(host, port, backlog, &bound, err, sizeof err);
  if (fd < 0) {
    napi_throw_error(env, errno == EADDRINUSE ? "EADDRINUSE" : errno == EACCES ? "EACCES" : NULL, err);
    return NULL;
  }
  NAPI_OK(napi_create_object(env, &out));
  ws_set_int(env, out, "fd", fd);
  ws_set_int(env, out, "port", bound);
  return out;
}

/* A frontend's `keepalive` / `keepalive_delay` (ms, 0 = off), set on its listening
 * socket: Linux gives every connection accepted from it the listener's SO_KEEPALIVE and
 * TCP_KEEPIDLE (and starts its timer), at no cost per connection. Probe interval and
 * count stay the system's (net.ipv4.tcp_keepalive_intvl, _probes). Both engines set it,
 * at every (re)start of a worker (engine.c ws_engine_listen, listenerDup below), so the
 * socket, which outlives configs, follows the newest: off must be set as well as on,
 * since net.Server's own keepAlive option only ever turns it on. Connections accepted
 * before keep theirs. */
void ws_listen_keepalive (int fd, double ms) {
  int on = ms > 0;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  if (!on) return;
  int idle = ms < 1000 ? 1 : ms > 32767000 ? 32767 : (int)(ms / 1000 + 0.5); /* TCP_KEEPIDLE: 1 to 32767 s */
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
}

/* listenerDup(fd[, keepaliveMs]) → fd: a second descriptor of the process's listening socket, for one
 * engine-node worker (net.Server.listen({ fd })). Closing that server closes this copy
 * only: the socket, and its accept queue, live on while the process's descriptor does.
 * Throws "listenerDup: reason" (EBADF once the supervisor closed the original). */
static napi_value listener_dup (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  int32_t fd = -1;
  char err[96];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return ws_throw(env, "listenerDup(fd >= 0)");
  double keepalive_ms = 0;
  if (argc >= 2 && napi_get_value_double(env, argv[1], &keepalive_ms) != napi_ok) return ws_throw(env, "listenerDup: keepaliveMs must be a number");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    snprintf(err, sizeof err, "listenerDup: %s", strerror(errno));
    return ws_throw(env, err);
  }
  if (argc >= 2) ws_listen_keepalive(copy, keepalive_ms);
  NAPI_OK(napi_create_int32(env, copy, &out));
  return out;
}

int ws_init_listen (napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "listenerOpen", NULL, listener_open, NULL, NULL, NULL, napi_default, NULL },
    { "listenerDup", NULL, listener_dup, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, 2, d) == napi_ok ? 0 : -1;
}
