// confide: the host- and client-side binary. Wiring only; the commands live in src/cli.
#include "cli/cli.h"

int main(int argc, char** argv) { return confide::cli::RunConfide(argc, argv); }
