"""Drives the hub through grpcio (gRPC's C-core stack) over one mutual-TLS channel, without stubs.

Usage: grpcio_driver.py ADDRESS CA_PEM CERT_PEM KEY_PEM
Reads commands from stdin, one per line, and answers on stdout, one line each:
  CALL <method> <request hex>    ->  OK <reply hex>  |  ERROR <status code name> <details>
  STREAM <method> <request hex>  ->  then, as they arrive: MSG <hex> ... and END or
                                     ERROR <code name> <details> (prefixed by `S `)
  QUIT
Every call uses the same channel, so a test can act on the hub between calls and see what an
already-open connection is then allowed to do.
"""
import sys
import threading

import grpc

out = threading.Lock()


def say(line: str) -> None:
    with out:
        print(line, flush=True)


def identity(m):
    return m


def stream(channel, method: str, request: bytes) -> None:
    call = channel.unary_stream(method, request_serializer=identity, response_deserializer=identity)
    try:
        for message in call(request):
            say(f"S MSG {message.hex()}")
        say("S END")
    except grpc.RpcError as err:
        say(f"S ERROR {err.code().name} {err.details()}")


def main() -> int:
    address, ca, cert, key = sys.argv[1:5]
    with open(ca, "rb") as f:
        ca_pem = f.read()
    with open(cert, "rb") as f:
        cert_pem = f.read()
    with open(key, "rb") as f:
        key_pem = f.read()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=key_pem, certificate_chain=cert_pem
    )
    options = [("grpc.ssl_target_name_override", "localhost")]
    with grpc.secure_channel(address, credentials, options=options) as channel:
        for line in sys.stdin:
            parts = line.split()
            if not parts or parts[0] == "QUIT":
                break
            command, method = parts[0], parts[1]
            request = bytes.fromhex(parts[2]) if len(parts) > 2 else b""
            if command == "STREAM":
                threading.Thread(target=stream, args=(channel, method, request), daemon=True).start()
                continue
            call = channel.unary_unary(
                method, request_serializer=identity, response_deserializer=identity
            )
            try:
                reply = call(request, timeout=10)
                say(f"OK {reply.hex()}")
            except grpc.RpcError as err:
                say(f"ERROR {err.code().name} {err.details()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
