"""The CI gate: each result's verdict, the graph-break baseline, and the end of a run
(every report written, nothing lost)."""
