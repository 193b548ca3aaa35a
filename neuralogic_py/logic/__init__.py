"""Logic: the integer-coded database, bottom-up grounding, the ground program, samples and queries.

``ground_samples(template, examples, query_lines)`` is the pipeline entry point (parse -> *ground* ->
neuralize): it returns a :class:`~.samples.Grounding` whose ``program`` is the array-based ground
program described in :mod:`.ground`. ``query(template, "h(X, Y)", data)`` answers Datalog queries.
"""

from .ground import GroundProgram, GroundRules
from .query import query, query_examples
from .samples import Grounding, Sample, ground_samples

__all__ = ["GroundProgram", "GroundRules", "Grounding", "Sample", "ground_samples", "query", "query_examples"]
