"""The home page, fetched as a browser navigates to it: the lightest call that shows whether
an egress gets through Cloudflare (its address, fingerprint, user agent and clearance), with
no account involved. A challenge raises :class:`errors.CloudflareChallenge` as for any call.
"""

from __future__ import annotations

from grok_web import context

# A redirect (to a locale, a sign-in page) still means the front let the request through.
REDIRECTS = (301, 302, 303, 307, 308)


async def fetch(*, ctx: context.Context) -> int:
    """``GET /`` through the context's egress; the HTTP status (2xx or a redirect)."""
    reply = await ctx.transport.request(
        "GET", ctx.page("/"), headers=ctx.headers.page(), ok_statuses=REDIRECTS
    )
    return reply.status_code
