"""Tasks: the head, loss, metrics, decoding and export signatures of each kind of problem."""
