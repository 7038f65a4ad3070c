"""Backups: a project's whole graph as versioned JSON Lines (`perceo export` / `perceo import`)."""
