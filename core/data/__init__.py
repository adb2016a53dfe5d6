"""Data files shipped with ecopatrol (emission limits); read through :mod:`ecopatrol.core.limits`."""
