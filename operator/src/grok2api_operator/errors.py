"""The operator's exception tree.

    OperatorError
    ├── CredentialUnavailable   the referenced Secret or its key cannot be read
    └── PeeringMissing          the ClusterKopfPeering object the replicas share is absent

Messages name the Secret and key, never the credential itself.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base of every error the operator raises on its own."""


class CredentialUnavailable(OperatorError):
    """The Secret is missing, lacks the key, or the API refused to return it."""


class PeeringMissing(OperatorError):
    """Without its peering object a replica would stay paused forever; it stops instead."""
