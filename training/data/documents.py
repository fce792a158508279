"""Reading and writing documents in datatrove's format (`{"text", "id", "metadata"}` per JSON line, gzipped).

The first stage reads the user's files with `CountingJsonlReader`: a malformed line (not JSON, not an object, invalid
UTF-8) is counted and skipped instead of ending the task or silently dropping the rest of the file (what
datatrove's own reader does), and a truncated gzip keeps what was read. Every document's `id` is a string and
survives every stage; `metadata["domain"]` (web | math | code) routes the domain-specific rules.
"""

from __future__ import annotations

from datatrove.pipeline.readers import JsonlReader

DOMAINS = ("web", "math", "code")


class CountingJsonlReader(JsonlReader):
    name = "🐿 Jsonl (counting malformed lines)"

    def read_file(self, filepath: str):
        import orjson

        with self.data_folder.open(filepath, "rb", compression=self.compression) as f:
            line_index = -1
            while True:
                try:
                    line = f.readline()
                except (EOFError, OSError):  # a truncated or corrupt gzip: keep what was read, say so
                    self.stat_update("truncated_files")
                    break
                if not line:
                    break
                line_index += 1
                if not line.strip():
                    continue
                try:
                    data = orjson.loads(line)  # invalid UTF-8 raises here: one line lost, not the file
                    if not isinstance(data, dict):
                        raise ValueError("not an object")
                except (orjson.JSONDecodeError, ValueError):
                    self.stat_update("malformed_lines")
                    continue
                with self.track_time():
                    document = self.get_document_from_dict(data, filepath, line_index)
                if document is None:
                    self.stat_update("missing_text")
                    continue
                document.id = str(document.id)
                document.metadata.setdefault("domain", guess_domain(document.text, filepath))
                yield document


def guess_domain(text: str, path: str = "") -> str:
    """A document without a `domain` in its metadata: code by file type or shape, math by symbol density."""
    if path.endswith(".py") or text.lstrip().startswith(("import ", "from ", "def ", "class ", "#!")):
        return "code"
    symbols = sum(text.count(c) for c in "=+-*/^")
    digits = sum(c.isdigit() for c in text)
    return "math" if text and (symbols + digits) / len(text) > 0.08 else "web"


def reader(folder: str, *, first: bool = False, glob_pattern: str | None = None):
    """A reader of `folder`: the user's input (`first`, counting malformed lines) or a stage's output."""
    if first:
        return CountingJsonlReader(folder, glob_pattern=glob_pattern, recursive=True)
    return JsonlReader(folder, glob_pattern="*.jsonl.gz", recursive=True)


def writer(folder: str, *, reason: str | None = None):
    """JSONL.gz in datatrove's format, one file per task; `reason` stamps removed documents whose step sets none
    (deduplication steps do not)."""
    from datatrove.pipeline.writers import JsonlWriter

    if reason is None:
        return JsonlWriter(folder, output_filename="${rank}.jsonl.gz")
    return JsonlWriter(folder, output_filename="${rank}.jsonl.gz", adapter=_stamp(reason))


def _stamp(reason: str):
    def adapter(self, document) -> dict:
        data = self._default_adapter(document)
        data.setdefault("metadata", {}).setdefault("filter_reason", reason)
        return data

    return adapter
