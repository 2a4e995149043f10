"""What a schema migration did."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SchemaMigration:
    """What ``migrate`` did: the schema version before and after."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after
