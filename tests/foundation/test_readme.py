import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_settings_and_model_tables_match_their_sources():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_readme.py"), "--check"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr


def test_readme_gives_the_two_commands_first():
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```bash", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block


def test_ci_runs_the_test_command_the_readme_gives():
    ci = (ROOT / ".ci/run").read_text().strip().splitlines()
    assert ci[-1] == "make test"
