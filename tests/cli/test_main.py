"""The command line as a user meets it: help everywhere, one-line errors, exit codes."""

import pytest

from wirekit.cli.main import COMMANDS


def test_top_level_help_lists_every_command(cli):
    result = cli("--help")
    assert result.code == 0
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(cli, name):
    result = cli(name, "--help")
    assert result.code == 0, result.stderr
    assert "Examples:" in result.stdout
    assert f"wirekit {name}" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["no-such-command"], ["lookup"], ["connect", "localhost"], ["connections", "--port", "x"],
     ["connect", "127.0.0.1:80", "--frobnicate"]],
)
def test_bad_arguments_give_one_line_and_exit_2(cli, args):
    result = cli(*args)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wirekit")
    assert "error:" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("bind", "port", "expected"),
    [("127.0.0.1", None, "127.0.0.1:7007"), ("127.0.0.1:9", None, "127.0.0.1:9"),
     ("::1", 5, "[::1]:5"), ("[::1]:8000", None, "[::1]:8000"), ("", 80, ":80")],
)
def test_server_bind_forms(bind, port, expected):
    from wirekit.cli.serving import listen_address

    assert str(listen_address(bind, port, None, 7007)) == expected
