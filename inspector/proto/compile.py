"""Compile ``inspector/proto/**/*.proto`` into the committed ``descriptors.binpb``. Run ``make protos``.

The ``.proto`` files hold only the wire schema (message and field names, numbers, types) of the
TensorFlow messages ckpt2pb reads and writes. The compiled FileDescriptorSet is loaded at import
time into a private descriptor pool (see ``pb.py``), so ckpt2pb needs neither ``protoc`` nor
TensorFlow at run time. Needs ``grpcio-tools`` (the ``dev`` extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "descriptors.binpb"


def main() -> int:
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(HERE)) for p in HERE.rglob("*.proto"))
    args = ["protoc", f"-I{HERE}", f"-I{well_known}", "--include_imports",
            f"--descriptor_set_out={OUTPUT}", *sources]
    status = protoc.main(args)
    if status != 0:
        print(f"protoc failed with status {status}", file=sys.stderr)
        return 1
    print(f"wrote {OUTPUT.relative_to(HERE.parent.parent)} from {len(sources)} .proto files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
