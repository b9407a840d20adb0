"""activity package."""
