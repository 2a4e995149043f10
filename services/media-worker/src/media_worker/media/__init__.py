"""The media job handlers: image generation, image edits, video, and what they share.

``context``    what every handler needs (settings, pool, Grok client, blob store)
``leased``     one upstream attempt under the one lease-and-retry path
``meter``      monotonic progress events for a job
``downloads``  generated assets into the blob store, with the owning account's cookie
``images`` / ``edits`` / ``videos``   one handler each
``failures``   any failure as the job's client-facing error event
"""
