"""HTTP layer: thin handlers that parse, authenticate, call one service, serialise."""
