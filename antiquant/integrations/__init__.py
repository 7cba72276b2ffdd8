"""Adapters to other libraries, each importing its library lazily: ``torch`` (torch_npu's ``npu_anti_quant``),
``dask`` (the operator block by block, and one task per item on a cluster)."""
