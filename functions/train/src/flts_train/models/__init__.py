"""The model strategies, one entry per model type (the job spec's ``model_type`` values, in order)."""

from __future__ import annotations

from .base import Strategy
from .ensemble_strategy import Ensemble
from .gbdt_strategy import Gbdt
from .linear_strategy import Linear
from .prophet_strategy import Prophet
from .rnn_strategy import Recurrent

STRATEGIES: dict[str, Strategy] = {
    "GRU": Recurrent("GRU"),
    "LSTM": Recurrent("LSTM"),
    "PROPHET": Prophet(),
    "LINEAR": Linear(),
    "GBDT": Gbdt(),
    "ENSEMBLE": Ensemble(),
}
