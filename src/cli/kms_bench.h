// confide kms bench: throughput of the KMS request path against a no-op endpoint on the same
// HTTP stack, measured in one run.
#ifndef CONFIDE_CLI_KMS_BENCH_H_
#define CONFIDE_CLI_KMS_BENCH_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddKmsBenchCommand adds `bench` under the `kms` subcommand `kms`; the action is stored in
// *run. Exit codes: 0 done (and, with --min-ops/--min-ratio, the goals were met), 1 failed or
// a goal was missed, 2 usage.
void AddKmsBenchCommand(CLI::App* kms, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_KMS_BENCH_H_
