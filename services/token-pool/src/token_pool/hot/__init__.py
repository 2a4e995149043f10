"""Hot pool state (quota windows, cooldowns, in-flight counts, leases) behind one interface.

``base.HotState`` is the contract; ``memory.MemoryHotState`` serves the single-process mode
and ``redis_state.RedisHotState`` shares the state between replicas with Lua scripts.
"""
