"""All SQL lives here: one module per area, speaking in domain terms."""
