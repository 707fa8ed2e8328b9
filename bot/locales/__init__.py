"""Text catalogues, one module per language, each a MESSAGES dict of the same keys."""
