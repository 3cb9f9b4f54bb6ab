"""Sceau vs Synapse benchmark; run with ``python -m bench``."""
