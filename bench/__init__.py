"""Benchmarks of antiquant against the machine's copy bandwidth and its peers (numpy + ml_dtypes, PyTorch).

``python -m antiquant.bench`` runs the suite (``bench.suite``) and writes ``results.json`` and ``results.png``;
``python -m antiquant.bench.report results.json`` prints the Markdown tables. Importing this package imports nothing
heavy, so the report runs without Numba or torch.
"""
