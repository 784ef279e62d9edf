"""The networks of the architecture registry (architectures.py), one module each, on shared layers (layers.py)."""
