"""content.references: the APA reference of a DOI — the committed cache of registry records
(`references/`), their normalisation to CSL-JSON, APA 7 rendering (citeproc-py) and the checks
of an author's citation against them. The network client (`registry`) is imported only by
`check --online` and `cite`, never from here; the checks (`check.check_issue`, with rapidfuzz)
only by `check` and the preview, so rendering does not pay for them."""

from .apa import Reference
from .apa import render as render_reference
from .cache import FOLDER, BrokenCacheFile, Fetched, ReferenceCache
from .normalize import normalize

__all__ = ["FOLDER", "BrokenCacheFile", "Fetched", "Reference", "ReferenceCache", "normalize",
           "render_reference"]
