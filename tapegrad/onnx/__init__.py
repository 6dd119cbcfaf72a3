"""Export a traced run to ONNX: ``tg.onnx.export`` (torch.onnx.export's name and arguments).

Importing this package is cheap: ``onnx`` itself is imported only when ``export`` runs.
"""

from tapegrad.onnx.export import export

__all__ = ["export"]
