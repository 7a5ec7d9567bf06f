#!/bin/bash
# The default start's seeding on a sample (greedy k-means++ on max(20·K·D, 10 000) rows) against plain k-means++ on
# every row, over seeds: one line per fit (dataset, seed, seeding rows, final mean log-likelihood, iterations,
# seconds, status). Data from bench/make_em_bench.py. Usage: bench/seeding_study.sh DIR NAME... (SEEDS="1 2 3" to choose).
set -e
dir=$1; shift
dll=$(dirname "$0")/EmDsl.Bench/bin/Release/net10.0/EmDsl.Bench.dll
[ -f "$dll" ] || dotnet build -c Release "$(dirname "$0")/EmDsl.Bench" > /dev/null
for name in "$@"; do for seed in ${SEEDS:-1 2 3 4 5 6 7 8}; do for rows in default 2147483647; do
  if [ $rows = default ]; then unset EMDSL_BENCH_SEEDING_ROWS; else export EMDSL_BENCH_SEEDING_ROWS=$rows; fi
  EMDSL_BENCH_SEED=$seed dotnet "$dll" em-default "$dir/$name" | python3 -c "
import json, sys; d = json.load(sys.stdin)
print('$name', $seed, '$rows', d['final_mean_loglik'], d['iterations'], round(d['seconds_total'], 2), d['status'])"
done; done; done
