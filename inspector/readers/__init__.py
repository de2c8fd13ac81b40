"""TensorFlow-free readers: bytes on disk -> Python objects (no networkx, no ranking).

Entry points: :func:`inspector.readers.checkpoint.open_checkpoint`,
:func:`inspector.readers.resolve.resolve` and :func:`inspector.readers.graphfile.load_graph_file`.
"""
