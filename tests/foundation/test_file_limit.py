"""The open-file limit a service starts with: raised to the hard limit (2,000 streams need
about 4,000 descriptors, many systems give 1,024), and a warning naming the setting when
even the hard limit is too low. Each case runs in a child process whose limits it sets,
so this test process keeps its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import logging, resource, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    soft, hard = (int(v) for v in sys.argv[1:3])
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    from grok2api_cli import file_limit
    now = file_limit.raise_soft_limit(max_connections=int(sys.argv[3]))
    print("soft", now, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
""")


def probe(soft: int, hard: int, max_connections: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(soft), str(hard), str(max_connections)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.splitlines()


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    lines = probe(1024, 8192, 2048)
    assert lines[-1] == "soft 8192 8192"
    assert "file_limit_raised soft=1024 now=8192" in lines
    assert not any("file_limit_low" in line for line in lines)


def test_a_hard_limit_below_what_the_cap_needs_is_named_in_a_warning() -> None:
    lines = probe(1024, 2048, 2048)  # 2,048 streams need 2 * 2048 + 256
    assert lines[-1] == "soft 2048 2048"
    low = [line for line in lines if line.startswith("file_limit_low")]
    assert len(low) == 1
    assert "limit=2048 needed=4352 max_connections=2048" in low[0]
    assert "network.max_connections" in low[0]


def test_a_limit_already_at_the_hard_one_is_left_alone() -> None:
    lines = probe(4096, 4096, 1000)
    assert lines == ["soft 4096 4096"]
