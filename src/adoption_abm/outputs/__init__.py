"""What a run produces, from its monthly tallies: indicators (:mod:`.indicators`), emerging
roles (:mod:`.roles`), and atomic file writes (:mod:`.atomic`)."""
