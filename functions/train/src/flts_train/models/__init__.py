"""Model families: recurrent networks (GRU, LSTM) and Prophet."""
