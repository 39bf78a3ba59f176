"""The trainer virtualenv works: torch, prophet and onnx import and a tiny model exports to ONNX."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import prophet
import torch


def test_tiny_torch_model_exports_to_onnx_and_runs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).eval()
    example = torch.randn(5, 3)
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["x"],
        output_names=["y"],
        dynamo=False,
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {"x": example.numpy()})
    with torch.no_grad():
        torch_out = model(example).numpy()
    np.testing.assert_allclose(onnx_out, torch_out, rtol=1e-5, atol=1e-6)


def test_prophet_imports_with_its_bundled_stan_backend() -> None:
    assert prophet.__version__
    from prophet.models import StanBackendEnum

    assert "CMDSTANPY" in StanBackendEnum.__members__
