"""``python -m adoption_abm``: the command line."""

from adoption_abm.cli import main

main()
