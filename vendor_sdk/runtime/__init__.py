"""Running compiled models: quantization front door, example models, execution."""
