"""Speech recognition: transcripts, CTC decoding, language models."""
