# Many well-behaved TLS 1.2 clients, each from its own loopback address, each keeping
# its session (by id: no tickets) and reconnecting in rounds, as telemetry devices do.
# argv: PORT FIRST_SOURCE (127.0.0.N) COUNT
# Prints {"ready": n} once every client holds a session; then for each "round" line on
# stdin reconnects every client once and prints {"resumed": n, "errors": n}; ends at EOF.
# Rounds are driven from outside, so the test decides what happens between them.
import json
import socket
import ssl
import sys

port, first, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = first.rsplit('.', 1)
sources = [f'{base[0]}.{int(base[1]) + i}' for i in range(count)]

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.options |= ssl.OP_NO_TICKET


def connect(source, session):
    # A hang guard, not a speed bound: a loaded machine may take seconds per handshake.
    with socket.create_connection(('127.0.0.1', port), timeout=60, source_address=(source, 0)) as raw:
        with ctx.wrap_socket(raw, server_hostname='localhost', session=session) as s:
            return s.session, s.session_reused


sessions = [connect(src, None)[0] for src in sources]
print(json.dumps({'ready': len(sessions)}), flush=True)

for line in sys.stdin:
    if line.strip() != 'round':
        break
    resumed = 0
    errors = 0
    for i, src in enumerate(sources):
        try:
            sessions[i], reused = connect(src, sessions[i])
            resumed += 1 if reused else 0
        except OSError:
            errors += 1
    print(json.dumps({'resumed': resumed, 'errors': errors}), flush=True)
