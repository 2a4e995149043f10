"""The token pool service: every Grok account, leased atomically to any number of replicas.

service.PoolService        the pool; satisfies grok2api_poolclient.PoolClient in-process
leasing / management       acquire-release hot path / account management
acquiring                  acquires as answered: on-demand refresh and retry, metrics
background                 the supervised background loops, restarted after a crash
gauge_reporting            the replica holding the metrics leadership reports the gauges
refresh                    usage refresh (periodic, on demand, streamed progress)
actions                    upstream account actions (ToS, birth date, NSFW, assets), streamed
listing                    the account listing: filter, sort, page over an in-memory catalogue
hot.base                   the hot-state contract and its policies; hot.memory, hot.redis_state
grpc_server                TokenPool gRPC servicer, health service, create_server / serve
main                       wiring: running(settings, ...) and serve_forever(settings)
metrics                    grok2api_pool_* Prometheus metrics
"""
