"""The artifact store: content-addressed entries (`artifacts`), what keys them (`keys`), and
the file locks that let processes share them (`locks`)."""
