"""Judge: pure text work (normalisation, councils, classify, match, story identity)."""
