"""``wirekit get URL [name=value ...]``: fetch a URL (see :mod:`wirekit.cli.fetch`)."""

from wirekit.cli.fetch import make_command

command = make_command("GET", "GET a URL and print (or save with -o) the body.")
