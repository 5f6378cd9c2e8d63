// confide::cli: argument parsing and the commands of the `confide` binary.
#ifndef CONFIDE_CLI_CLI_H_
#define CONFIDE_CLI_CLI_H_

namespace confide::cli {

// RunConfide parses `argv` and runs the chosen command. Returns the process exit code:
// 0 success, 1 the command ran and failed (e.g. an attestation document was rejected),
// 2 usage error.
int RunConfide(int argc, char** argv);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_CLI_H_
