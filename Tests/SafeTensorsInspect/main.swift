// Placeholder: the safetensors test driver (filled in by the safetensors work).
