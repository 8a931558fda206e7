/* The backend side of a connection: a server picked by the backend's algorithm
 * (balance.c) among those up and not tried yet, a non-blocking connect, the next server
 * when one refuses or times out, and the PROXY v2 header once connected. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "conn.h"
#include "proxy_v2.h"

/* The connection no longer counts against its server (leastconn): at a failed connect
 * and at close. */
void ws_backend_release (ws_conn *c) {
  if (c->server < 0) return;
  c->fe->servers[c->server].active--;
  c->server = -1;
}

/* The next server the algorithm picks among those not tried yet. */
int ws_backend_connect (ws_conn *c) {
  ws_frontend *f = c->fe;
  ws_backend_release(c);
  for (int pick; (pick = ws_balance_pick(c)) >= 0;) {
    c->tried |= UINT64_C(1) << pick;
    c->server = pick;
    ws_server *s = &f->servers[pick];
    s->active++;
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { ws_backend_release(c); continue; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&s->addr, s->len) != 0 && errno != EINPROGRESS) { close(fd); ws_backend_release(c); continue; }
    c->bfd = fd;
    c->bmask = EPOLLOUT;
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &c->bh };
    if (epoll_ctl(f->engine->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) { close(fd); c->bfd = -1; ws_backend_release(c); continue; }
    c->state = WS_CS_CONNECTING;
    c->deadline = ws_mono_ms() + f->t_connect;
    return 0;
  }
  return -1;
}

/* After a failed connect: the next server, or the end (engine node's words). */
void ws_backend_failed (ws_conn *c, const char *why) {
  if (c->bfd >= 0) { close(c->bfd); c->bfd = -1; }
  if (ws_backend_connect(c) != 0) {
    char reason[160];
    snprintf(reason, sizeof reason, "backend %.64s: every server failed (last: %.48s)", c->fe->backend, why);
    ws_conn_close(c, WS_ST_BACKEND, reason);
  }
}

int ws_backend_connected (ws_conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) { ws_backend_failed(c, strerror(err)); return -1; }
  c->state = WS_CS_SPLICE;
  c->last_backend = c->last_client = ws_mono_ms();
  if (c->fe->send_proxy) {
    /* Goes out before any client byte: c2b is empty until the splice reads. */
    size_t n = ws_proxy_v2(c, c->c2b, sizeof c->c2b);
    c->c2b_len = n;
    c->c2b_off = 0;
  }
  return 0;
}

/* Moves bytes while anything moves; 0 to go on, -1 when the connection was closed. */
