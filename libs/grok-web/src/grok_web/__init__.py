"""grok_web: the typed client for the Grok web upstream (grok.com).

Public entry points: :class:`grok_web.client.GrokClient`,
:class:`grok_web.options.ClientOptions`, :mod:`grok_web.catalogue`,
:mod:`grok_web.events`, :mod:`grok_web.errors`.
"""

from grok_web.chat import ChatRequest, Continuation
from grok_web.client import GrokClient
from grok_web.imagine import ImagineRequest
from grok_web.media import ImageEditRequest, VideoExtension, VideoRequest
from grok_web.options import ClientOptions

__all__ = [
    "ChatRequest",
    "ClientOptions",
    "Continuation",
    "GrokClient",
    "ImageEditRequest",
    "ImagineRequest",
    "VideoExtension",
    "VideoRequest",
]
