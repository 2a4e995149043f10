"""OpenAI's Responses API (``/v1/responses``): its request shape, stored responses, event
stream and rendering, over the chat plan and the one lease-and-retry path."""
