"""The records boundary: how domain objects become the bytes straum stores, and back."""
