"""End-to-end runs of S+U learning on built-in data: the demos and the quality benchmarks."""
