"""The load generator behind bench/load_bench.py: phones, servers, phases, figures."""
