"""The twenty proposals as policy levers.

:mod:`.catalogue` (``proposals.toml``: what each proposal does, its channels, costs and claims),
:mod:`.parse` (the ``--policy`` syntax) and :mod:`.schedule` (interventions → the levers in
force each month). The catalogue is input data and sits below the scenario layer; the schedule
sits above the rules. Import from the submodules: this package imports none of them.
"""
