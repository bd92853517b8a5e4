"""Readers of the formats CLIP users and peer benchmarks publish, one small module per format.

Each reader checks its files (one-line :class:`annbench.errors.UserError` on bad
input) and returns a :class:`annbench.data.formats.source.Source`: the base as a
stream of chunks, and the query sets with any ground truth the files supply.
The pipeline that writes the dataset, verifying supplied truth or computing
it, is :mod:`annbench.groundtruth.build_formats` (a layer up).

- :mod:`.clip_retrieval`: clip-retrieval / LAION ``img_emb``, ``text_emb``, ``metadata`` folders
- :mod:`.bab`: big-ann-benchmarks ``.fbin`` / ``.u8bin`` / ``.i8bin`` files and their truth
- :mod:`.vdbb`: VectorDBBench ``train`` / ``test`` / ``neighbors`` parquet files
- :mod:`.vibe`: VIBE and ann-benchmarks HDF5 files
"""
