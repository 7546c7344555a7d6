"""The API reference (docs/api.md) rendered from the proto comments, and the rules those comments keep.

`python -m tools.protodoc --out docs/api.md` regenerates the file; `--check` fails when it is stale.
"""

from tools.protodoc.markdown import render
from tools.protodoc.rules import violations
from tools.protodoc.schema import Api, build_image, load

__all__ = ["Api", "build_image", "load", "render", "violations"]
