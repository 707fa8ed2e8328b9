"""The Matrix adapter (matrix-nio with vodozemac end-to-end encryption)."""

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import MatrixStartError, TokenRevokedError

__all__ = ["MatrixAdapter", "MatrixStartError", "TokenRevokedError"]
