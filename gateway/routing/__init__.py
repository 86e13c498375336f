"""Model name → targets, and getting an answer out of them.

models      the model table (targets, prices, per-target runtime state)
config      per-model policy: strategy, retries, breaker, engine scoring
router      one routing decision (the order targets are tried in) + outcome records
strategies  weighted, latency, least-busy, cost, engine-aware orderings
affinity    session stickiness and prompt-prefix affinity
breaker     circuit breaker per (model, target)
retry       which failures retry where, backoff, retry-after
dispatch    the attempt loop: retries, fallbacks, streams handed to the client
health      active reachability probes
"""
