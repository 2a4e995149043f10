"""Strip upstream markup tags (``chat.filter_tags``) from streamed text.

``<tag …>…</tag>`` blocks and self-closing ``<tag …/>`` are removed with their content.
Text arrives in arbitrary pieces, so a fragment that may still open or close a filtered
tag is held back until the next piece decides.
"""

from __future__ import annotations

from collections.abc import Sequence


class TagFilter:
    def __init__(self, *, tags: Sequence[str]):
        self._tags = tuple(tags)
        self._held = ""
        self._inside: str | None = None

    def feed(self, text: str) -> str:
        """The part of the text seen so far that is certainly outside any filtered tag."""
        if not self._tags or (not self._held and self._inside is None and "<" not in text):
            return text
        buf = self._held + text
        self._held = ""
        out: list[str] = []
        while buf:
            if self._inside is not None:
                buf = self._skip_to_close(buf)
                continue
            lt = buf.find("<")
            if lt < 0:
                out.append(buf)
                break
            out.append(buf[:lt])
            buf = buf[lt:]
            verdict = self._opening(buf)
            if verdict is None:
                self._held = buf
                break
            if verdict == 0:
                out.append("<")
                buf = buf[1:]
                continue
            buf = buf[verdict:]
        return "".join(out)

    def flush(self) -> str:
        """What is still held at the end (an unfinished filtered block is dropped)."""
        held, self._held = self._held, ""
        return "" if self._inside is not None else held

    def _skip_to_close(self, buf: str) -> str:
        assert self._inside is not None
        close = f"</{self._inside}>"
        end = buf.find(close)
        if end < 0:
            # Keep a tail that may be the start of the closing tag.
            self._held = buf[-(len(close) - 1) :]
            return ""
        self._inside = None
        return buf[end + len(close) :]

    def _opening(self, buf: str) -> int | None:
        """For ``buf`` starting with '<': None = undecided (hold), 0 = not a filtered tag,
        n > 0 = a filtered opening tag of n characters (entered unless self-closing)."""
        for tag in self._tags:
            opener = "<" + tag
            if len(buf) <= len(opener):
                if opener.startswith(buf):
                    return None
                continue
            if not buf.startswith(opener) or buf[len(opener)] not in " \t\r\n/>":
                continue
            gt = buf.find(">")
            if gt < 0:
                return None
            if buf[gt - 1] != "/":
                self._inside = tag
            return gt + 1
        return 0
