"""How callers reach the token pool: one interface, two transports.

``PoolClient`` is the protocol every caller (gateway, media worker, admin, operator, CLI)
depends on. ``grpc_transport.GrpcPoolClient`` speaks the gRPC contract in ``proto/``; the
token-pool service itself satisfies the same protocol in-process, which the single-process
mode wires in directly so one process does not serialise calls to itself.
"""
