"""`pipework test-pattern`: prints true/false with exit 0/1, AWS's error with exit 2; arguments inline or @file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipework.cli.main import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["test-pattern", *args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def test_match_prints_true_and_exits_0(capsys):
    assert run(capsys, "--pattern", '{"source": ["a"]}', "--event", '{"source": "a"}') == (0, "true\n", "")


def test_no_match_prints_false_and_exits_1(capsys):
    assert run(capsys, "--pattern", '{"source": ["a"]}', "--event", '{"source": "b"}') == (1, "false\n", "")


def test_invalid_pattern_prints_the_aws_error_and_exits_2(capsys):
    code, out, err = run(capsys, "--pattern", '{"source": "a"}', "--event", "{}")
    assert (code, out) == (2, "")
    assert (
        err
        == 'InvalidEventPatternException: Event pattern is not valid. Reason: "source" must be an object or an array\n'
    )


def test_event_that_is_not_json_exits_2(capsys):
    code, out, err = run(capsys, "--pattern", '{"source": ["a"]}', "--event", "{nope")
    assert (code, out) == (2, "")
    assert "Event is not valid" in err


def test_arguments_from_files(tmp_path, capsys):
    (tmp_path / "p.json").write_text('{"detail": {"n": [{"numeric": [">", 5]}]}}')
    (tmp_path / "e.json").write_text('{"detail": {"n": 6}}')
    code, out, _ = run(capsys, "--pattern", f"@{tmp_path / 'p.json'}", "--event", f"@{tmp_path / 'e.json'}")
    assert (code, out) == (0, "true\n")


def test_missing_file_exits_2(tmp_path, capsys):
    code, out, err = run(capsys, "--pattern", f"@{tmp_path / 'absent.json'}", "--event", "{}")
    assert (code, out) == (2, "")
    assert err.startswith("error:")


@pytest.mark.parametrize(
    ("event", "code", "printed"), [('{"a": "x"}', 0, "true"), ('{"a": "y"}', 1, "false")]
)
def test_installed_command(tmp_path, event, code, printed):
    (tmp_path / "e.json").write_text(event)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipework.cli.main",
            "test-pattern",
            "--pattern",
            '{"a": ["x"]}',
            "--event",
            f"@{tmp_path / 'e.json'}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (code, printed)
