"""Thinc architectures and the PyTorch modules behind them."""
