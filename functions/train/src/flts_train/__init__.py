"""FLTS trainer: fits GRU, LSTM and Prophet forecasters and exports self-contained ONNX models."""

__version__ = "0.1.0"
