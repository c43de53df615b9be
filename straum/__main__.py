"""``python -m straum``: the same as the ``straum`` command."""

from straum.cli import main

main()
