"""One (model, target) check: the public `check()` (`api`), the facts gathered every time,
the pipeline that decides the row and runs its path, the race of row 7, and one runner per
technology (`runners`)."""
