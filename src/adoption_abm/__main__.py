"""``python -m adoption_abm``: the command line."""

from .cli.main import main

main()
