"""`file_citation` annotations on the answer's text, by a documented rule.

A plain chat model cannot emit OpenAI's annotations, so it is asked (in the tool's description and in
each search's output, see reading.py) to cite a result by writing its number in brackets, `[n]`
(`【n】` and lists such as `[1, 3]` are read too). For each such marker whose number is a result the
model was shown, the text gets a `file_citation` of that result's file at the marker's position (the
character index where the marker starts, i.e. right after the statement it supports); the marker stays
in the text. A number no result has (e.g. `[7]` in code, when there are 3 results) is not a citation.

When the text cites nothing so marked, yet this response's own searches found files, every such file
is cited once at the end of the text (index = its length), best scored first: the answer was written
with those results in front of the model. Each (file, index) is cited once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rejoinder.responses.v1.content_pb2 import Annotation, FileCitation
from rejoinder.tools.file_search.reading import Source

MARKER = re.compile(r"[\[【]\s*(\d{1,4}(?:\s*,\s*\d{1,4})*)\s*[\]】]")


def _citation(file_id: str, filename: str, index: int) -> Annotation:
    return Annotation(file_citation=FileCitation(file_id=file_id, filename=filename, index=index))


def citations(text: str, sources: Mapping[int, Source], found: Sequence[tuple[str, str]]) -> list[Annotation]:
    """The `file_citation`s of `text`: its markers of `sources`, else every file of `found` (file id,
    filename; this response's results, best first) at the end."""
    cited: list[Annotation] = []
    seen: set[tuple[str, int]] = set()
    for match in MARKER.finditer(text):
        for number in (int(n) for n in match.group(1).split(",")):
            source = sources.get(number)
            if source is None or (source.file_id, match.start()) in seen:
                continue
            seen.add((source.file_id, match.start()))
            cited.append(_citation(source.file_id, source.filename, match.start()))
    if cited:
        return cited
    files = dict(found)  # file id -> filename, first (best) occurrence kept in order
    return [_citation(file_id, filename, len(text)) for file_id, filename in files.items()]
