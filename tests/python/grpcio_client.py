"""Calls the hub through grpcio (gRPC's C-core stack), over mutual TLS, without generated stubs.

Usage: grpcio_client.py ADDRESS CA_PEM CERT_PEM KEY_PEM METHOD
Sends an empty request to METHOD (e.g. /hotline.v1.Directory/ListDistricts) and prints one line:
`OK <reply bytes as hex>` or `ERROR <status code name> <details>`.
"""
import sys

import grpc


def main() -> int:
    address, ca, cert, key, method = sys.argv[1:6]
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
        call = channel.unary_unary(
            method, request_serializer=lambda m: m, response_deserializer=lambda m: m
        )
        try:
            reply = call(b"", timeout=10)
        except grpc.RpcError as err:
            print(f"ERROR {err.code().name} {err.details()}")
            return 0
        print(f"OK {reply.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
