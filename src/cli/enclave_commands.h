// confide::cli `confide enclave ...` commands.
#ifndef CONFIDE_CLI_ENCLAVE_COMMANDS_H_
#define CONFIDE_CLI_ENCLAVE_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"
#include "image/image.h"
#include "nlohmann/json.hpp"

namespace confide::cli {

// AddEnclaveCommands registers `enclave build|describe-image` on `app`. The chosen command's
// action is stored in `*run` and returns the exit code.
void AddEnclaveCommands(CLI::App& app, std::function<int()>* run);

// DescribeImageJson returns the `describe-image` JSON of a parsed image, in the shape of
// `nitro-cli describe-eif`: EifVersion, Measurements {HashAlgorithm, PCR0, PCR1, PCR2, PCR8?},
// IsSigned, CheckSHA384, SignatureCheck, ImageName, ...
nlohmann::ordered_json DescribeImageJson(const image::ParsedImage& img);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_ENCLAVE_COMMANDS_H_
