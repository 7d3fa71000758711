#!/usr/bin/python3
"""A gRPC echo service and its client, on python3-grpcio, for Baton's proxy tests. Messages are
raw bytes (no protobuf): service baton.test.Echo, methods

  Unary   one message in, the same reversed out, trailing metadata x-trailer: yes
  Bidi    a stream in, each message upper-cased out as it arrives
  Fail    aborts with NOT_FOUND "no such thing"

Usage:
  grpc_echo.py serve          listens on 127.0.0.1 (h2c), prints "listening PORT", exits when
                              its stdin ends (the test process is gone)
  grpc_echo.py call ADDR HOST calls each method through ADDR with :authority HOST and prints
                              what came back as one JSON object
"""

import json
import sys
import threading
import os

import grpc

SERVICE = "baton.test.Echo"


def unary(request, context):
    context.set_trailing_metadata((("x-trailer", "yes"),))
    return request[::-1]


def bidi(requests, context):
    for message in requests:
        yield message.upper()


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def serve():
    from concurrent import futures
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening {port}", flush=True)
    while sys.stdin.buffer.read(1):
        pass
    server.stop(0)
    os._exit(0)


def call(address, authority):
    result = {}
    with grpc.insecure_channel(address, options=[("grpc.default_authority", authority)]) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        unary_call = channel.unary_unary(f"/{SERVICE}/Unary")
        reply, call = unary_call.with_call(b"ping", timeout=10)
        result["unary"] = reply.decode()
        result["unary_code"] = call.code().name
        result["unary_trailer"] = dict(call.trailing_metadata() or ()).get("x-trailer")

        bidi_call = channel.stream_stream(f"/{SERVICE}/Bidi")
        replies = bidi_call(iter([b"a", b"bb", b"ccc"]), timeout=10)
        result["bidi"] = [message.decode() for message in replies]
        result["bidi_code"] = replies.code().name

        fail_call = channel.unary_unary(f"/{SERVICE}/Fail")
        try:
            fail_call(b"x", timeout=10)
            result["fail_code"] = "OK"
        except grpc.RpcError as error:
            result["fail_code"] = error.code().name
            result["fail_details"] = error.details()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    elif sys.argv[1] == "call":
        call(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
