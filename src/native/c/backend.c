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

const char *ws_errno_code (int err) {
  switch (err) {
    case ECONNRESET: return "ECONNRESET";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    default: return strerror(err);
  }
}

void ws_backend_report (ws_conn *c, const char *failure) {
  if (c->server < 0) return;
  ws_server *s = &c->be->servers[c->server];
  ws_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = WS_EV_SERVER;
  ev.backend = (int16_t)c->be->index;
  ev.server = (int16_t)c->server;
  ev.resumed = (uint8_t)(s->answered != 0);
  s->answered = 0;
  ws_copy(ev.reason, sizeof ev.reason, failure);
  ws_conn_publish(c, &ev);
}

int ws_backend_unanswered (ws_conn *c, const char *failure) {
  ws_backend_report(c, failure);
  if (c->replay && c->replayable) {
    /* c2b holds no client byte here (they are all in replay): start over on the next server. */
    c->c2b_len = c->c2b_off = 0;
    c->preamble = 0;
    c->replay_sent = 0;
    c->answer_deadline = 0;
    c->backend_eof = c->backend_shut = 0;
    ws_backend_failed(c, failure);
    return -1;
  }
  char reason[160];
  snprintf(reason, sizeof reason, "server %.64s: %.80s", c->server >= 0 ? c->be->servers[c->server].name : "?", failure);
  ws_conn_close(c, WS_ST_PROXY, reason);
  return -1;
}

/* The connection no longer counts against its server (leastconn): at a failed connect
 * and at close. */
void ws_backend_release (ws_conn *c) {
  if (c->server < 0) return;
  c->be->servers[c->server].active--;
  c->server = -1;
}

/* The next server the algorithm picks among those not tried yet. */
int ws_backend_connect (ws_conn *c) {
  ws_frontend *f = c->fe;
  ws_backend_release(c);
  for (int pick; (pick = ws_balance_pick(c)) >= 0;) {
    c->tried |= UINT64_C(1) << pick;
    c->server = pick;
    ws_server *s = &c->be->servers[pick];
    s->active++;
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { ws_backend_release(c); continue; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&s->addr, s->len) != 0 && errno != EINPROGRESS) {
      /* Refused at once (a closed port on this host): the server's failure like a later
       * one, reported to the worker's pool before the next pick. */
      char why[96];
      snprintf(why, sizeof why, "connect failed: %s", ws_errno_code(errno));
      close(fd);
      ws_backend_report(c, why);
      ws_backend_release(c);
      continue;
    }
    c->bfd = fd;
    c->bmask = EPOLLOUT;
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &c->bh };
    if (epoll_ctl(f->engine->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) { close(fd); c->bfd = -1; ws_backend_release(c); continue; }
    c->bfd_batch = f->engine->batch;
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
    snprintf(reason, sizeof reason, "backend %.64s: every server failed (last: %.48s)", c->be->name, why);
    ws_conn_close(c, WS_ST_BACKEND, reason);
  }
}

int ws_backend_connected (ws_conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    char why[96];
    snprintf(why, sizeof why, "connect failed: %s", ws_errno_code(err));
    ws_backend_report(c, why);
    ws_backend_failed(c, ws_errno_code(err));
    return -1;
  }
  c->state = WS_CS_SPLICE;
  c->last_backend = c->last_client = ws_mono_ms();
  if (c->fe->send_proxy) {
    /* Goes out before any client byte: c2b is empty until the splice reads. */
    size_t n = ws_proxy_v2(c, c->c2b, sizeof c->c2b);
    c->c2b_len = n;
    c->c2b_off = 0;
    ws_used(&c->c2b_used, n);
    c->preamble = n > 0;
  }
  return 0;
}

/* Moves bytes while anything moves; 0 to go on, -1 when the connection was closed. */
