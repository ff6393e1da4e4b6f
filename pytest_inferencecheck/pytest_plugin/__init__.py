"""pytest wiring: options, the `deploy_target` marker, config-declared items, the session,
and hooks other plugins implement."""
