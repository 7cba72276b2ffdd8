"""The operator core: dtypes and codes, ``AclTensor``, platform profiles, validation per architecture, the
Pythonic call, launch and its caches, and the reference oracle.

A call's way: numpy array -> ``tensor.AclTensor`` (a view) -> ``validation`` (raises, or returns a checked
call) -> ``antiquant.tiling`` (the platform's host tiling) -> ``launch`` (binds plan, tensors, workspace) ->
``antiquant.kernels`` (the generated specialisation) -> y. Importing this package imports none of its
modules: ``launch`` and ``api`` bring Numba, the others only numpy and ml_dtypes.
"""
