"""Chunked grounding: ground, neuralize and lift a set chunk by chunk, keeping only the lifted network.

``build_chunked(template, chunks, store=...)`` grounds every :class:`~neuralogic_py.language.chunks.Chunk`
on its own (:func:`~neuralogic_py.logic.samples.ground_samples`), neuralizes it with the
shared parameter store and lifts it into the network lifted so far
(:class:`~.incremental.LiftedBuilder`); the chunk's ground program and network are then
dropped. Memory is that of one chunk's grounding plus the lifted network and one record
per sample, whatever the number of examples; the compiled network is the one
:func:`~.predict.build` makes of the whole set, up to the order of floating-point sums.

``on_chunk(done, examples)`` is called after each chunk with the chunks done and the
examples (query lines, for a knowledge base) they held.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable

from ..errors import GroundingError, NeuralogicWarning
from ..language import ir
from ..language.chunks import Chunk
from ..logic.samples import ground_samples
from .compiled import CompiledNetwork, compile_network
from .compression import LiftingSettings
from .incremental import LiftedBuilder
from .network import neuralize
from .parameters import ParameterStore, template_weights
from .settings import REFERENCE, NeuralSettings

CHUNK_SIZE = 1000  # examples per chunk when chunking is automatic (benchmarks/chunked.py)
AUTO_EXAMPLES = 2 * CHUNK_SIZE  # example sets of more examples are chunked unless told otherwise


def chunk_size(examples: int, asked: int | None, lifting: str | LiftingSettings = "structural") -> int:
    """Examples per chunk for a set of ``examples`` examples: ``asked`` (0: no chunks), or when None
    :data:`CHUNK_SIZE` above :data:`AUTO_EXAMPLES` examples under structural lifting.

    Measured (``benchmarks/chunked.py``): from 2,500 NCI-like molecules on, chunks of 1000 build
    the network in less time than grounding all at once, and in a third or less of the memory.
    A knowledge base (one example) is chunked only when asked: every chunk grounds its facts
    again. Nor are the value method and no lifting, which lift every chunk with the whole
    network so far.
    """
    if asked is not None:
        return asked
    structural = LiftingSettings.of(lifting).method == "structural"
    return CHUNK_SIZE if structural and examples > AUTO_EXAMPLES else 0


def build_chunked(template: ir.Template, chunks: Iterable[Chunk], *, settings: NeuralSettings = REFERENCE,
                  store: ParameterStore | None = None, allow_underivable: bool = False,
                  lifting: str | LiftingSettings = "structural", examples_file: str | None = None,
                  queries_file: str | None = None,
                  on_chunk: Callable[[int, int], None] | None = None) -> CompiledNetwork:
    """The compiled lifted network of every chunk's samples (module docstring)."""
    if store is None:
        store = ParameterStore(template_weights(template).parameters.values())
    builder = LiftedBuilder(lifting)
    done = seen = samples = dropped = 0
    for chunk in chunks:
        with warnings.catch_warnings():  # how the data pairs was said once for the whole set
            warnings.filterwarnings("ignore", category=NeuralogicWarning,
                                    message=".*(no sample|no queries file|no query line)")
            grounding = ground_samples(template, chunk.examples, chunk.query_lines,
                                       allow_underivable=allow_underivable, examples_file=examples_file,
                                       queries_file=queries_file, first_example=chunk.first_example, whole_set=False)
        samples += len(grounding.samples)
        dropped += len(grounding.underivable)
        builder.add(neuralize(template, grounding, store, settings), chunk.first_example, chunk.lines,
                    chunk.examples)
        del grounding
        done += 1
        seen += chunk.size
        if on_chunk is not None:
            on_chunk(done, seen)
    if dropped and not samples:
        raise GroundingError(f"every query ({dropped}) was dropped as underivable, which leaves nothing",
                             hint="the warnings above name them and why")
    network, report = builder.finish()
    compiled = compile_network(network)
    compiled.compression = report
    return compiled
