"""``lazy_buffers``: zeroed 64 kB blocks (libcurl's socket buffers) stay out of RSS until used.

Measured as RSS growth over a process's life: blocks written and freed (earlier streams),
then as many zeroed blocks allocated and left unwritten (the streams open now).

Each case runs in a fresh interpreter: the threshold is process-wide and the heap's state
decides where a block comes from.
"""

from __future__ import annotations

import subprocess
import sys

BLOCKS = 1000
BLOCK = 65_600  # libcurl's 65,535-byte WebSocket chunk plus its header

PROGRAM = f"""
import ctypes, sys
from grok_web import lazy_buffers, transport

if sys.argv[1] == "transport":
    from grok_web.options import ClientOptions
    transport.Transport(options=ClientOptions())
elif sys.argv[1] == "direct":
    assert lazy_buffers.map_large_blocks()

def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

libc = ctypes.CDLL(None)
libc.malloc.restype = libc.calloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: a long-running process's heap does not shrink
before = rss_kb()
# earlier traffic: blocks used and freed, as the buffers of finished streams are
earlier = [libc.malloc({BLOCK}) for _ in range({BLOCKS})]
for block in earlier:
    ctypes.memset(block, 1, {BLOCK})
for block in earlier:
    libc.free(block)
# the buffers of the streams open now, none written yet
kept = [libc.calloc(1, {BLOCK}) for _ in range({BLOCKS})]
print(rss_kb() - before)
"""


def grown_kb(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True,
                          timeout=60, check=True)
    return int(done.stdout.strip())


def test_without_the_threshold_every_zeroed_block_is_resident() -> None:
    # The control: what the heap costs, so the other cases can fail.
    assert grown_kb("none") > BLOCKS * BLOCK // 1024 * 0.9


def test_mapped_blocks_cost_only_the_pages_touched() -> None:
    assert grown_kb("direct") < BLOCKS * BLOCK // 1024 * 0.2


def test_a_transport_applies_it_for_the_process() -> None:
    assert grown_kb("transport") < BLOCKS * BLOCK // 1024 * 0.2
