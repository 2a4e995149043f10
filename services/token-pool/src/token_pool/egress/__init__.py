"""The token pool's egresses: ways out to the upstream, each with its own clearance.

registry      the egresses (the durable store's, else one from the settings) and routes
health        per egress: challenges, network failures, cooling (this replica's view)
binding       binds accounts to healthy egresses in the hot state, mirrored to the store
solver        FlareSolverr's HTTP API
clearance     refreshes clearance: scheduled, on demand, one at a time per egress
pool          ties them together for the leaser and the management API
management    the PoolClient egress methods: list, add, update, remove, test, refresh
probe         tests egresses: the home page through each one with grok_web
probe_client  the grok_web client probe fetches with (the pool's, or one of its own)
views         what the management API shows of an egress (no secret)
"""
