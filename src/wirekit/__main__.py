"""``python -m wirekit``: the same as the ``wirekit`` command."""

from wirekit.cli.main import main

if __name__ == "__main__":
    main()
