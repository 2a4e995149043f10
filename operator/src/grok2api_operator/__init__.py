"""The ``GrokToken`` operator: Kubernetes objects that declare the pool's accounts.

Each ``GrokToken`` names a Secret holding one sso credential; the operator registers it in
the token pool, mirrors the account's state into ``status``, and removes the account when
the object is deleted. ``main.run`` is the entry point; the pool client is injected.
"""
