"""peercircle's platform-neutral core. Imports neither discord nor nio."""
