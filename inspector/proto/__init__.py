"""TensorFlow's protobuf messages, defined by ckpt2pb itself (no TensorFlow needed).

Use ``from inspector.proto import pb`` and then ``pb.GraphDef()`` and so on.
"""
