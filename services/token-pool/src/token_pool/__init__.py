"""The token pool service: every Grok account, leased atomically to any number of replicas.

service.PoolService        the pool; satisfies grok2api_poolclient.PoolClient in-process
leasing / management       acquire-release hot path / account management
refresh                    usage refresh (periodic, on demand, streamed progress)
hot.base                   the hot-state contract and its policies; hot.memory, hot.redis_state
grpc_server                TokenPool gRPC servicer, health service, create_server / serve
main                       wiring: running(settings, ...) and serve_forever(settings)
formats                    bulk import/export formats (credential lines, token.json)
metrics                    grok2api_pool_* Prometheus metrics
"""
