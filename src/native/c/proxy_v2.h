#ifndef WS_PROXY_V2_H
#define WS_PROXY_V2_H
#include <stddef.h>
#include <stdint.h>
struct ws_conn;
/* Writes the PROXY v2 header for the connection (addresses, ALPN, SNI, TLS version) into
 * out; returns its length, 0 when it does not fit or the addresses cannot be read. */
size_t ws_proxy_v2 (struct ws_conn *c, uint8_t *out, size_t cap);
#endif
