# Many well-behaved TLS 1.2 clients, each from its own loopback address, each keeping
# its session (by id: no tickets) and reconnecting in rounds, as telemetry devices do.
# argv: PORT FIRST_SOURCE (127.0.0.N) COUNT SECONDS
# Prints {"ready": n} once every client holds a session, waits for "go" on stdin, then
# reconnects all clients round after round for SECONDS and prints one JSON result line.
import json
import socket
import ssl
import sys
import time

port, first, count, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
base = first.rsplit('.', 1)
sources = [f'{base[0]}.{int(base[1]) + i}' for i in range(count)]

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.options |= ssl.OP_NO_TICKET


def connect(source, session):
    with socket.create_connection(('127.0.0.1', port), timeout=10, source_address=(source, 0)) as raw:
        with ctx.wrap_socket(raw, server_hostname='localhost', session=session) as s:
            return s.session, s.session_reused


sessions = [connect(src, None)[0] for src in sources]
print(json.dumps({'ready': len(sessions)}), flush=True)
sys.stdin.readline()

rounds = []
errors = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    resumed = 0
    for i, src in enumerate(sources):
        try:
            sessions[i], reused = connect(src, sessions[i])
            resumed += 1 if reused else 0
        except OSError:
            errors += 1
    rounds.append(resumed)
print(json.dumps({'rounds': rounds, 'clients': count, 'errors': errors}), flush=True)
