"""Usage-record ids: unique per request, within a process and across forked children."""

from __future__ import annotations

import os
import re

from gateway.access.meter import RECORD_IDS


def test_ids_are_32_hex_digits_and_never_repeat() -> None:
    ids = [RECORD_IDS.next() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", record_id) for record_id in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # one process's ids grow in the order they were made


def test_a_forked_child_draws_ids_of_its_own() -> None:
    parent_next = RECORD_IDS.next()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.close(read)
        os.write(write, RECORD_IDS.next().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child_next = pipe.read().decode()
    os.waitpid(pid, 0)
    assert re.fullmatch(r"[0-9a-f]{32}", child_next)
    assert child_next[:20] != parent_next[:20]  # not the parent's prefix and counter
    assert RECORD_IDS.next()[:20] == parent_next[:20]  # the parent's own ids are unchanged
