#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the ceremony, store and web code against the memory and
# SQLite suites: the library's unit tests, the route suite (tests/integration) and the store
# conformance kit. Takes the whole machine for a long time; not part of .ci/run.
#
#   bash scripts/mutants.sh                       # src/ceremony, origin, config, the memory/SQLite stores
#   bash scripts/mutants.sh -f 'src/web/**'       # other files (any cargo-mutants arguments)
#   MUTANTS_JOBS=1 bash scripts/mutants.sh        # parallel builds (default 2, one per core)
#   MUTANTS_ITERATE=1 bash scripts/mutants.sh     # resume: skip mutants a previous run caught
#
# Results: mutants.out/ (outcomes.json, caught.txt, missed.txt, unviable.txt, timeout.txt);
# the committed summary is MUTANTS.md.
#
# The PostgreSQL and Redis backends are not compiled (their stores are excluded: the memory and
# SQLite suites cannot reach them); `--profile mutants` (Cargo.toml) builds without debug info.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo mutants --version >/dev/null 2>&1; then
  cargo install --locked cargo-mutants
fi

args=(
  --profile mutants
  --no-default-features --features sqlite,session,testing,openapi,metrics
  --cargo-test-arg=--lib --cargo-test-arg=--test=integration --cargo-test-arg=--test=store_conformance
  --jobs "${MUTANTS_JOBS:-2}"
  # The PostgreSQL halves of shared files (migrate.rs) are not compiled in this feature set.
  --exclude-re 'pg::'
  # Copying target/ only helps when a previous run left target/mutants (MUTANTS_COPY_TARGET=false
  # skips copying a large debug target that the mutants profile does not use).
  --copy-target "${MUTANTS_COPY_TARGET:-true}"
  --minimum-test-timeout 120
)
# Fixed seeds, so a mutant's outcome does not depend on the run; fewer generated cases than
# `cargo test` (600 fuzz cases with this seed still reach every verifier branch the fuzz test
# demands), so each mutant's tests take seconds.
export PASSKEYS_FUZZ_SEED="${PASSKEYS_FUZZ_SEED:-1}" PASSKEYS_FUZZ_CASES="${PASSKEYS_FUZZ_CASES:-600}"
export PASSKEYS_PROPTEST_SEED="${PASSKEYS_PROPTEST_SEED:-1}" PASSKEYS_PROPTEST_CASES="${PASSKEYS_PROPTEST_CASES:-100}"
if [ "${MUTANTS_ITERATE:-0}" = 1 ]; then args+=(--iterate); fi
if [ "$#" = 0 ]; then
  set -- -f 'src/ceremony/**' -f src/origin.rs -f 'src/config/**' -f src/store/mod.rs -f src/store/memory.rs \
    -f src/store/diesel/mod.rs -f src/store/diesel/migrate.rs -f src/store/diesel/sqlite.rs \
    -f src/store/diesel/stores.rs -f src/store/diesel/query.rs -f src/store/diesel/tables.rs
fi
exec cargo mutants "${args[@]}" "$@"
