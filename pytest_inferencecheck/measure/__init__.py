"""What a model does under torch, measured: graph breaks, export issues, numerics against
eager, and the advice each finding comes with."""
