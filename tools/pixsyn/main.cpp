// pixsyn: the command-line program. The subcommands and their table live in the pixsyn_cli_lib library
// (subcommands.cpp), so that tests and fuzz harnesses reach the same parser.
#include "program.hpp"
#include "subcommands.hpp"

int main(int argc, char** argv) { return pixsyn::cli::run_program(pixsyn::cli::subcommands(), argc, argv); }
