"""A protoc plugin for buf: the gRPC Python generator that is built into grpcio-tools' protoc.

buf runs protoc's own generators (`protoc_builtin`) only for the names protoc itself ships (python, pyi,
...); `grpc_python` exists only inside grpcio-tools' protoc, and grpcio-tools has no plugin executable.
This script is that plugin: it reads buf's CodeGeneratorRequest on stdin, hands the descriptors to
grpcio-tools' protoc (`--descriptor_set_in`, `--grpc_python_out`) in this process, and answers with the
files protoc wrote. buf.gen.yaml runs it as `local: [python3, tools/protoc_gen_grpc_python.py]`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """What `protoc --grpc_python_out` writes for the request's files, as a plugin response."""
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    with tempfile.TemporaryDirectory(prefix="protoc-gen-grpc_python-") as tmp:
        descriptors, out = Path(tmp, "descriptors.binpb"), Path(tmp, "out")
        out.mkdir()
        descriptors.write_bytes(descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString())
        args = ["protoc", f"--descriptor_set_in={descriptors}", f"--grpc_python_out={out}"]
        if request.parameter:
            args.append(f"--grpc_python_opt={request.parameter}")
        if protoc.main([*args, *request.file_to_generate]) != 0:  # protoc said why on stderr
            response.error = "grpcio-tools' protoc failed to generate the gRPC Python modules"
            return response
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            response.file.add(name=path.relative_to(out).as_posix(), content=path.read_text())
    return response


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString())


if __name__ == "__main__":
    main()
