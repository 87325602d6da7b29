"""Air-gapped mode: the local Dagger engine, registry and image set, seen from Python."""
