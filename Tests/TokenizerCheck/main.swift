// Placeholder: the tokenizer.json test driver (filled in by the WordPiece work).
