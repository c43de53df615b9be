"""Benchmarks of straum against raw aiokafka on one embedded broker (``make bench``).

Every straum figure is set beside a floor measured in the same run: what plain aiokafka
clients reach on the same broker, machine and record size. Results go to docs/BENCHMARKS.md.
"""
