"""`python -m tools.protodoc --out docs/api.md`: render the API reference from the proto comments.

Run from the repository root (where buf.yaml is). `--check` writes nothing and fails when the file
differs from a fresh render; `--lint` fails when a comment breaks the rules of tools/protodoc/rules.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.protodoc.markdown import render
from tools.protodoc.rules import violations
from tools.protodoc.schema import build_image, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.protodoc", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/api.md"), help="the Markdown file")
    parser.add_argument("--root", type=Path, default=Path("."), help="the buf workspace (buf.yaml)")
    parser.add_argument("--buf", default=None, help="the buf binary (default: the venv's)")
    parser.add_argument(
        "--image", type=Path, default=None, help="a FileDescriptorSet with source info, instead of buf build"
    )
    parser.add_argument("--prefix", default="rejoinder/", help="document the files whose names start so")
    parser.add_argument("--check", action="store_true", help="fail if --out is not a fresh render")
    parser.add_argument("--lint", action="store_true", help="fail on comments that break the rules")
    args = parser.parse_args(argv)

    image = args.image.read_bytes() if args.image else build_image(args.root, args.buf)
    api = load(image, args.prefix)
    if args.lint:
        broken = violations(api)
        for line in broken:
            print(line, file=sys.stderr)
        if broken:
            print(f"{len(broken)} proto comments break the rules", file=sys.stderr)
            return 1
    text = render(api)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run `python -m tools.protodoc --out {args.out}`", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
