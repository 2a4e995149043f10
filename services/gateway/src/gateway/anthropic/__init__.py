"""The Anthropic Messages API (``/v1/messages``): a front over the chat path.

``request`` validates Anthropic's body, ``convert`` turns it into the chat ``Plan`` (the
same flattening, tool prompt, leasing and translator as ``/v1/chat/completions``),
``shape`` cuts the output at stop sequences and ``max_tokens``, ``render`` and ``events``
write the answer as a message or as Anthropic's SSE events, ``errors`` gives every error
Anthropic's shape.
"""
