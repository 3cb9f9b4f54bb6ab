"""Services: one per capability, each receiving its dependencies explicitly."""
