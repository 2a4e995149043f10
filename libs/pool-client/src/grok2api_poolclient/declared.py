"""Accounts declared by Kubernetes ``GrokToken`` objects, as tools other than the operator
see them: read-only.

The operator marks each account it manages with ``accounts.managed_tag``; the object is the
account's source of truth, and the operator would undo any edit made elsewhere. So the CLI
and the admin API refuse to edit or remove such accounts, with ``refusal`` saying where to
make the change, and never write the reserved mark themselves (``reserved_tags``).
"""

from __future__ import annotations

from collections.abc import Iterable

from . import accounts
from .client import PoolClient

_SSO_PREFIX = "sso="


def refusal(account: accounts.Account) -> str | None:
    """Why ``account`` must not be edited here (naming the object to edit), or None."""
    if account.managed_by is None:
        return None
    namespace, _, name = account.managed_by.partition("/")
    return (
        f"account {account.account_id} is declared by the GrokToken {account.managed_by}: "
        f"change or delete that object instead (kubectl -n {namespace} edit groktoken {name})"
    )


def reserved_tags(tags: Iterable[str]) -> list[str]:
    """The tags in ``tags`` that only the operator may set."""
    return [t for t in tags if t.strip().startswith(accounts.MANAGED_TAG_PREFIX)]


async def holder(pool: PoolClient, credential: str) -> accounts.Account | None:
    """The account holding ``credential`` (a leading ``sso=`` is fine), or None."""
    value = credential.strip()
    if value.startswith(_SSO_PREFIX):
        value = value[len(_SSO_PREFIX):].strip()
    if not value:
        return None
    page = await pool.list_accounts(search=value, page_size=1)
    return page.accounts[0] if page.accounts else None
